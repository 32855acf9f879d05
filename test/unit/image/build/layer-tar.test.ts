import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';

import { LayerTarWriter } from '../../../../src/image/build/layer-tar.js';

describe('LayerTarWriter', () => {
  it('writes entries tar-stream reads back, with pax records for long names and big ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layer-tar-'));
    try {
      const file = join(dir, 'l.tar');
      const fd = openSync(file, 'w');
      const w = new LayerTarWriter(fd);
      const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
      w.add({ path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1 });
      w.addBuffer({ path: long, type: 'file', mode: 0o600, uid: 3_000_000, gid: 5, mtime: 2 }, Buffer.from('hello'));
      w.add({ path: 'etc/.wh.motd', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1 });
      w.add({ path: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1, linkname: '/etc' });
      const { digest, size } = w.finish();
      closeSync(fd);
      expect(size % 512).toBe(0);
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const seen: Array<{ name: string; uid?: string; body: string; linkname?: string | null }> = [];
      const extract = tar.extract();
      extract.on('entry', (h, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => {
          chunks.push(c as Buffer);
        });
        stream.on('end', () => {
          seen.push({ name: h.name, uid: (h.pax as Record<string, string> | undefined)?.uid, body: Buffer.concat(chunks).toString(), linkname: h.linkname });
          next();
        });
      });
      const done = new Promise<void>((r) => extract.on('finish', () => r()));
      extract.end(readFileSync(file));
      await done;
      expect(seen.map((e) => e.name)).toEqual(['etc/', long, 'etc/.wh.motd', 'link']);
      // tar-stream keeps pax records it does not apply itself (libarchive, the unpacker, applies uid)
      expect(seen[1]).toMatchObject({ uid: '3000000', body: 'hello' });
      expect(seen[3]?.linkname).toBe('/etc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
