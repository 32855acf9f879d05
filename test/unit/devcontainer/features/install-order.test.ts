import { describe, expect, it } from 'vitest';

import { parseFeatureReference } from '../../../../src/devcontainer/features/feature-reference.js';
import { computeInstallOrder, type OrderNode } from '../../../../src/devcontainer/features/install-order.js';
import { thrownDevenvError } from '../../../support/devenv-error.js';

const DIR = '/p/.devcontainer';
const REG = 'ghcr.io/acme/features';

/** A node for `id` (an OCI Feature in REG) with hard deps on other ids and soft deps on references. */
function node(id: string, deps: { dependsOn?: string[]; installsAfter?: string[]; aliases?: string[] } = {}): OrderNode {
  const source = parseFeatureReference(`${REG}/${id}:1`, DIR);
  return {
    key: id,
    label: `${REG}/${id}:1`,
    source,
    aliases: [id, ...(deps.aliases ?? [])],
    dependsOn: deps.dependsOn ?? [],
    installsAfter: (deps.installsAfter ?? []).map((r) => parseFeatureReference(r.includes('/') ? r : `${REG}/${r}`, DIR)),
    sortKey: `${REG}/${id}`,
  };
}

const ids = (nodes: OrderNode[]): string[] => nodes.map((n) => n.key);
const order = (nodes: OrderNode[], override: string[] = []): string[] =>
  ids(computeInstallOrder(nodes, override.map((o) => parseFeatureReference(`${REG}/${o}`, DIR))).order);

describe('computeInstallOrder', () => {
  it('sorts independent Features by reference', () => {
    expect(order([node('zsh'), node('go'), node('node')])).toEqual(['go', 'node', 'zsh']);
  });

  it('installs hard dependencies first', () => {
    expect(order([node('a', { dependsOn: ['z'] }), node('z'), node('b')])).toEqual(['b', 'z', 'a']);
    expect(order([node('a', { dependsOn: ['b'] }), node('b', { dependsOn: ['c'] }), node('c')])).toEqual(['c', 'b', 'a']);
  });

  it('honours installsAfter only when the other Feature is installed', () => {
    expect(order([node('a', { installsAfter: ['z'] }), node('z')])).toEqual(['z', 'a']);
    expect(order([node('a', { installsAfter: ['missing'] }), node('b')])).toEqual(['a', 'b']);
    // matched by repository whatever the tag, and through legacy ids
    expect(order([node('a', { installsAfter: [`${REG}/z:2`] }), node('z')])).toEqual(['z', 'a']);
    expect(order([node('a', { installsAfter: ['old-name'] }), node('z', { aliases: ['old-name'] })])).toEqual(['z', 'a']);
  });

  it('puts overrideFeatureInstallOrder entries first, in their order', () => {
    expect(order([node('a'), node('b'), node('c')], ['c', 'b'])).toEqual(['c', 'b', 'a']);
  });

  it('never installs an overridden Feature before its dependencies (devcontainers/cli#1200)', () => {
    const nodes = [node('use', { dependsOn: ['common'] }), node('common'), node('remove')];
    expect(order(nodes, ['use', 'remove'])).toEqual(['common', 'use', 'remove']);
  });

  it('warns about override entries that match nothing', () => {
    const result = computeInstallOrder([node('a')], [parseFeatureReference(`${REG}/nope`, DIR)]);
    expect(result.warnings[0]).toContain('`ghcr.io/acme/features/nope` is not among the Features installed');
  });

  it('reports a dependsOn cycle naming the Features in it, not the bystanders', () => {
    const error = thrownDevenvError(() => computeInstallOrder([node('a', { dependsOn: ['b'] }), node('b', { dependsOn: ['a'] }), node('c', { dependsOn: ['a'] })]));
    expect(error.code).toBe('FEATURE_CYCLE');
    expect(error.message).toBe(`Features depend on each other in a cycle: \`${REG}/a:1\` → \`${REG}/b:1\` → \`${REG}/a:1\``);
  });

  it('reports an installsAfter cycle too', () => {
    const error = thrownDevenvError(() => computeInstallOrder([node('a', { installsAfter: ['b'] }), node('b', { installsAfter: ['a'] })]));
    expect(error.message).toContain('cycle');
    expect(error.message).toContain(`${REG}/a:1`);
    expect(error.message).toContain(`${REG}/b:1`);
  });
});
