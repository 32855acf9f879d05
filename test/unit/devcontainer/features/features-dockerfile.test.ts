import { describe, expect, it } from 'vitest';

import { parseFeatureReference } from '../../../../src/devcontainer/features/feature-reference.js';
import type { ResolvedFeature } from '../../../../src/devcontainer/features/feature-types.js';
import { envInstruction, featureMetadataEntry, generateFeaturesDockerfile, labelInstruction } from '../../../../src/devcontainer/features/features-dockerfile.js';

function feature(written: string, metadata: ResolvedFeature['metadata']): ResolvedFeature {
  return { source: parseFeatureReference(written, '/p/.devcontainer'), dir: '/x', metadata, digest: 'sha256:0', options: {}, values: {}, origin: 'user' };
}

describe('features Dockerfile', () => {
  const env = feature('./features/env-hook', {
    id: 'env-hook',
    version: '1.0.0',
    containerEnv: { PATH: '/opt/bin:${PATH}', Q: 'say "hi" \\' },
    postCreateCommand: 'echo hi',
    capAdd: ['SYS_PTRACE'],
  });
  const plain = feature('ghcr.io/acme/features/plain:1', { id: 'plain' });

  it('installs each Feature in order as root, with its containerEnv before it, and restores the user', () => {
    const text = generateFeaturesDockerfile({
      baseImage: 'docker.io/library/debian@sha256:abc',
      imageUser: 'vscode',
      steps: [
        { dirName: '01-plain', feature: plain },
        { dirName: '02-env-hook', feature: env },
      ],
      metadataLabel: '[{"id":"x"}]',
    });
    const lines = text.split('\n');
    expect(lines[1]).toBe('FROM docker.io/library/debian@sha256:abc');
    expect(lines[2]).toBe('USER root');
    const plainRun = lines.indexOf('RUN chmod -R 0755 /tmp/dev-container-features/01-plain && cd /tmp/dev-container-features/01-plain && ./devcontainer-features-install.sh');
    const envLine = lines.indexOf('ENV PATH="/opt/bin:${PATH}"');
    const envRun = lines.findIndex((l) => l.includes('cd /tmp/dev-container-features/02-env-hook'));
    expect(plainRun).toBeGreaterThan(0);
    expect(envLine).toBeGreaterThan(plainRun);
    expect(envRun).toBeGreaterThan(envLine);
    expect(text).toContain('COPY 02-env-hook/ /tmp/dev-container-features/02-env-hook/');
    expect(text).toContain('USER vscode\nLABEL devcontainer.metadata="[{\\"id\\":\\"x\\"}]"');
  });

  it('escapes ENV and LABEL values', () => {
    expect(envInstruction('Q', 'say "hi" \\')).toBe('ENV Q="say \\"hi\\" \\\\"');
    expect(labelInstruction('l', '{"a":"$HOME"}')).toBe('LABEL l="{\\"a\\":\\"\\$HOME\\"}"');
  });

  it('contributes a metadata entry per Feature named by its reference, without containerEnv', () => {
    expect(featureMetadataEntry(env)).toEqual({ id: './features/env-hook', postCreateCommand: 'echo hi', capAdd: ['SYS_PTRACE'] });
  });
});
