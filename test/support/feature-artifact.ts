/**
 * Publish a Feature folder as a Dev Container Feature OCI artifact (the devcontainer CLI's `features publish`
 * layout): a tar of the folder as one layer of media type `application/vnd.devcontainers.layer.v1+tar`, an empty
 * config of media type `application/vnd.devcontainers`, and the devcontainer-feature.json in the manifest's
 * `dev.containers.metadata` annotation. Pushed with our own registry client.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { pack } from 'tar-stream';

import { parseImageReference } from '../../src/image/reference.js';
import type { RegistryClient } from '../../src/image/registry/registry-client.js';
import type { Descriptor } from '../../src/image/types.js';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A deterministic tar of a folder (sorted names, fixed times and owners). */
export async function tarFolder(dir: string): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stat = lstatSync(join(dir, path));
      if (stat.isDirectory()) {
        p.entry({ name: `./${path}/`, type: 'directory', mode: 0o755, mtime: new Date(0) });
        walk(path);
      } else if (stat.isFile()) {
        p.entry({ name: `./${path}`, mode: stat.mode & 0o777, mtime: new Date(0) }, readFileSync(join(dir, path)));
      }
    }
  };
  walk('');
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** What publishFeature pushed. */
export interface PublishedFeature {
  reference: string;
  manifestDigest: string;
  layer: Descriptor;
}

/** The artifact's blobs and manifest for a folder (nothing pushed). */
export async function featureArtifact(dir: string): Promise<{ layerBytes: Buffer; layer: Descriptor; config: Descriptor; configBytes: Buffer; manifest: Buffer }> {
  const layerBytes = await tarFolder(dir);
  const metadata = readFileSync(join(dir, 'devcontainer-feature.json'), 'utf8');
  const id = /"id"\s*:\s*"([^"]+)"/.exec(metadata)?.[1] ?? 'feature';
  const layer: Descriptor = {
    mediaType: 'application/vnd.devcontainers.layer.v1+tar',
    digest: sha256(layerBytes),
    size: layerBytes.length,
    annotations: { 'org.opencontainers.image.title': `devcontainer-feature-${id}.tgz` },
  };
  const configBytes = Buffer.from('{}');
  const config: Descriptor = { mediaType: 'application/vnd.devcontainers', digest: sha256(configBytes), size: configBytes.length };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer], annotations: { 'dev.containers.metadata': metadata } }),
  );
  return { layerBytes, layer, config, configBytes, manifest };
}

/** Push a Feature folder to `reference` (e.g. `127.0.0.1:5056/features/hello:1`). */
export async function publishFeature(client: RegistryClient, dir: string, reference: string): Promise<PublishedFeature> {
  const ref = parseImageReference(reference);
  const art = await featureArtifact(dir);
  await client.pushBlob(ref, art.layer, async function* () {
    yield art.layerBytes;
  });
  await client.pushBlob(ref, art.config, async function* () {
    yield art.configBytes;
  });
  const manifestDigest = await client.pushManifest(ref, 'application/vnd.oci.image.manifest.v1+json', art.manifest);
  return { reference, manifestDigest, layer: art.layer };
}
