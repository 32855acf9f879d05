import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

import { REPO_ROOT } from './devenv-cli.js';

let built: string | undefined;

/** Build test/fixtures/portserver once per run and copy it to `<rootfs>/portserver`, owned by uid. */
export function installPortserver(rootfs: string, uid: number): void {
  if (!built) {
    const out = join(REPO_ROOT, 'test', 'fixtures', 'portserver', 'portserver');
    const r = spawnSync('sh', [join(REPO_ROOT, 'test', 'fixtures', 'portserver', 'build.sh')], { encoding: 'utf8', env: { ...process.env, OUT: out } });
    if (r.status !== 0 || !existsSync(out)) throw new Error(`building the portserver fixture failed: ${r.stderr}`);
    built = out;
  }
  const dest = join(rootfs, 'portserver');
  copyFileSync(built, dest);
  chmodSync(dest, 0o755);
  chownSync(dest, uid, uid);
}

/** A TCP port free on both 127.0.0.1 and ::1 right now (tests race nobody but themselves). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const v6free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '::1', () => srv.close(() => resolve(true)));
    });
    // leave room above it: a forward that finds its port taken moves to the next one
    if (v6free && port < 65000) return port;
  }
}

/** Listen on 127.0.0.1:port (to make it taken); close the result when done. */
export function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => s.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** `GET /` over HTTP/1.0; the whole answer (headers and body). */
export function httpGet(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`GET http://${host}:${port}/ timed out`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    s.on('data', (d: string) => (data += d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

/**
 * Send `bytes` random bytes to an echo server, half-close, and read everything back: true when the echo is
 * complete and identical (exercises both directions, EOF propagation and large transfers).
 */
export function echoRoundTrip(host: string, port: number, bytes: number, timeoutMs = 30_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const payload = randomBytes(bytes);
    const got = createHash('sha256');
    let received = 0;
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`echo through ${host}:${port} timed out after ${received} bytes`));
    }, timeoutMs);
    s.on('connect', () => s.end(payload)); // end(): write, then shutdown(SHUT_WR)
    s.on('data', (d: Buffer) => {
      got.update(d);
      received += d.length;
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(received === bytes && got.digest('hex') === createHash('sha256').update(payload).digest('hex'));
    });
  });
}

/** Send `count` datagrams to a UDP echo server one by one; how many came back intact. */
export async function udpEcho(host: string, port: number, count: number): Promise<number> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let ok = 0;
  try {
    for (let i = 0; i < count; i += 1) {
      const msg = Buffer.from(`ping ${i}`);
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 2000);
        sock.once('message', (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        sock.send(msg, port, host);
      });
      if (answer?.equals(msg)) ok += 1;
    }
  } finally {
    sock.close();
  }
  return ok;
}

/** Poll `probe` every `everyMs` until it returns a value, or undefined after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, everyMs = 25): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Open fds of a process (its /proc/PID/fd). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** user + system CPU ticks a process used so far. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}
