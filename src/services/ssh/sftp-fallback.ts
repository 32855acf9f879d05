import { constants, promises as fsp, type Stats } from 'node:fs';
import { posix } from 'node:path';

import ssh2, { type Attributes, type FileEntry, type SFTPWrapper } from 'ssh2';

import { readContainerState, bundleDir } from '../../runtime/container-store.js';
import { readRootfsFile, resolveContainerUser } from '../../runtime/container-user.js';
import type { OciIdMapping } from '../../runtime/oci-spec-types.js';
import type { SessionContext } from './ssh-session.js';

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;
const MAX_SYMLINKS = 40;
const MAX_READ = 256 * 1024;

/** A path inside the container, and where the host reaches it (`/proc/<pid>/root/…`). */
interface Resolved {
  path: string;
  host: string;
}

function mapId(id: number, map: readonly OciIdMapping[] | undefined, toHost: boolean): number {
  if (!map || map.length === 0) return id;
  for (const m of map) {
    const from = toHost ? m.containerID : m.hostID;
    const to = toHost ? m.hostID : m.containerID;
    if (id >= from && id < from + m.size) return to + (id - from);
  }
  return toHost ? -1 : 65534;
}

/**
 * Resolve a client path to one inside the container's root, following symlinks as the container would (an
 * absolute link target starts again at the container's `/`; `..` never climbs above it). `followLast: false`
 * for the operations that act on a link itself (lstat, readlink, remove, rename, symlink). Exported for tests.
 */
export async function resolveInRoot(root: string, cwd: string, path: string, followLast: boolean): Promise<Resolved> {
  const pending = (posix.isAbsolute(path) ? path : posix.join(cwd, path)).split('/').filter((c) => c !== '' && c !== '.');
  const parts: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '..') {
      parts.pop();
      continue;
    }
    const candidate = [...parts, name];
    const host = `${root}/${candidate.join('/')}`;
    let st: Stats | undefined;
    try {
      st = await fsp.lstat(host);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || pending.length > 0) throw error;
    }
    if (st?.isSymbolicLink() && (pending.length > 0 || followLast)) {
      if ((links += 1) > MAX_SYMLINKS) throw Object.assign(new Error('too many levels of symbolic links'), { code: 'ELOOP' });
      const target = await fsp.readlink(host);
      if (posix.isAbsolute(target)) parts.length = 0;
      pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    parts.push(name);
  }
  const inside = `/${parts.join('/')}`;
  return { path: inside, host: parts.length ? `${root}/${parts.join('/')}` : root };
}

function statusOf(error: unknown): number {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return STATUS_CODE.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return STATUS_CODE.PERMISSION_DENIED;
    case 'EOPNOTSUPP':
      return STATUS_CODE.OP_UNSUPPORTED;
    default:
      return STATUS_CODE.FAILURE;
  }
}

function openFlags(flags: number): number {
  let f = 0;
  const read = (flags & OPEN_MODE.READ) !== 0;
  const write = (flags & OPEN_MODE.WRITE) !== 0;
  f |= read && write ? constants.O_RDWR : write ? constants.O_WRONLY : constants.O_RDONLY;
  if (flags & OPEN_MODE.APPEND) f |= constants.O_APPEND;
  if (flags & OPEN_MODE.CREAT) f |= constants.O_CREAT;
  if (flags & OPEN_MODE.TRUNC) f |= constants.O_TRUNC;
  if (flags & OPEN_MODE.EXCL) f |= constants.O_EXCL;
  return f | constants.O_NOFOLLOW;
}

/**
 * The sftp subsystem when the image has no sftp-server: the common SFTP v3 operations, done by devenv on the
 * container's files through `/proc/<pid>/root` with symlinks resolved inside the container's root. Files are
 * created with devenv's own credentials and, when devenv runs as root, handed to remoteUser (docs/ssh.md).
 */
export function serveSftpFallback(sc: SessionContext, sftp: SFTPWrapper): void {
  const bundle = bundleDir(sc.ctx.root, sc.record.id);
  const pidOf = (): number => readContainerState(bundle).pid ?? 0;
  const rootOf = (): string => `/proc/${pidOf()}/root`;
  const spec = sc.record.spec as typeof sc.record.spec & { idMappings?: { uid: OciIdMapping[]; gid: OciIdMapping[] } | null };
  const uidMap = spec.idMappings?.uid;
  const gidMap = spec.idMappings?.gid;
  const user = resolveContainerUser(sc.state.remoteUser, {
    passwd: readRootfsFile(spec.rootfs.lowerdirs, 'etc/passwd'),
    group: readRootfsFile(spec.rootfs.lowerdirs, 'etc/group'),
  });
  const owner = { uid: mapId(user.uid, uidMap, true), gid: mapId(user.gid, gidMap, true) };
  const cwd = sc.state.remoteWorkspaceFolder;
  const handles = new Map<number, { fd?: fsp.FileHandle; dir?: { path: Resolved; done: boolean } }>();
  let nextHandle = 1;

  const resolve = (path: string, followLast = true): Promise<Resolved> => resolveInRoot(rootOf(), cwd, path, followLast);
  const newHandle = (value: { fd?: fsp.FileHandle; dir?: { path: Resolved; done: boolean } }): Buffer => {
    const id = nextHandle++;
    handles.set(id, value);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const handleOf = (b: Buffer) => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
  const attrsOf = (st: Stats): Attributes => ({
    mode: st.mode,
    uid: mapId(st.uid, uidMap, false),
    gid: mapId(st.gid, gidMap, false),
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  });
  /** Hand what devenv created to remoteUser (as root; rootless it already maps to remoteUser or cannot change). */
  const chownNew = async (host: string): Promise<void> => {
    if (owner.uid < 0 || owner.gid < 0) return;
    await fsp.lchown(host, owner.uid, owner.gid).catch(() => undefined);
  };
  const setAttrs = async (path: string | undefined, fh: fsp.FileHandle | undefined, a: Attributes): Promise<void> => {
    if (a.mode !== undefined) await (fh ? fh.chmod(a.mode & 0o7777) : fsp.chmod(path as string, a.mode & 0o7777));
    if (a.size !== undefined) await (fh ? fh.truncate(a.size) : fsp.truncate(path as string, a.size));
    if (a.atime !== undefined && a.mtime !== undefined) await (fh ? fh.utimes(a.atime, a.mtime) : fsp.utimes(path as string, a.atime, a.mtime));
  };
  const run = (reqid: number, work: () => Promise<void>): void => {
    work().catch((error: unknown) => sftp.status(reqid, statusOf(error), (error as Error).message));
  };
  const longname = (name: string, st: Stats): string => {
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
    const perms = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'].map((c, i) => ((st.mode >> (8 - i)) & 1 ? c : '-')).join('');
    const date = new Date(st.mtimeMs).toISOString().slice(0, 16).replace('T', ' ');
    return `${type}${perms} ${st.nlink} ${mapId(st.uid, uidMap, false)} ${mapId(st.gid, gidMap, false)} ${st.size} ${date} ${name}`;
  };

  sftp.on('REALPATH', (reqid, path) =>
    run(reqid, async () => {
      const r = await resolve(path || '.');
      sftp.name(reqid, [{ filename: r.path, longname: r.path, attrs: {} as Attributes }]);
    }),
  );
  for (const op of ['STAT', 'LSTAT'] as const) {
    sftp.on(op, (reqid: number, path: string) =>
      run(reqid, async () => {
        const r = await resolve(path, op === 'STAT');
        sftp.attrs(reqid, attrsOf(await fsp.lstat(r.host)));
      }),
    );
  }
  sftp.on('FSTAT', (reqid, h) =>
    run(reqid, async () => {
      const fh = handleOf(h)?.fd;
      if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      sftp.attrs(reqid, attrsOf(await fh.stat()));
    }),
  );
  sftp.on('OPEN', (reqid, filename, flags, attrs) =>
    run(reqid, async () => {
      const r = await resolve(filename);
      const existed = await fsp.lstat(r.host).then(() => true, () => false);
      const fh = await fsp.open(r.host, openFlags(flags), attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o644);
      if (!existed) await chownNew(r.host);
      sftp.handle(reqid, newHandle({ fd: fh }));
    }),
  );
  sftp.on('READ', (reqid, h, offset, length) =>
    run(reqid, async () => {
      const fh = handleOf(h)?.fd;
      if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      const buf = Buffer.alloc(Math.min(length, MAX_READ));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
      else sftp.data(reqid, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqid, h, offset, data) =>
    run(reqid, async () => {
      const fh = handleOf(h)?.fd;
      if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done, offset + done)).bytesWritten;
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSETSTAT', (reqid, h, attrs) =>
    run(reqid, async () => {
      const fh = handleOf(h)?.fd;
      if (!fh) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      await setAttrs(undefined, fh, attrs);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('SETSTAT', (reqid, path, attrs) =>
    run(reqid, async () => {
      await setAttrs((await resolve(path)).host, undefined, attrs);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('CLOSE', (reqid, h) =>
    run(reqid, async () => {
      const entry = handleOf(h);
      if (!entry) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      handles.delete(h.readUInt32BE(0));
      await entry.fd?.close();
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqid, path) =>
    run(reqid, async () => {
      const r = await resolve(path);
      if (!(await fsp.stat(r.host)).isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE, 'not a directory');
      sftp.handle(reqid, newHandle({ dir: { path: r, done: false } }));
    }),
  );
  sftp.on('READDIR', (reqid, h) =>
    run(reqid, async () => {
      const dir = handleOf(h)?.dir;
      if (!dir) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
      if (dir.done) return sftp.status(reqid, STATUS_CODE.EOF);
      dir.done = true;
      const names: FileEntry[] = [];
      for (const name of ['.', '..', ...(await fsp.readdir(dir.path.host))]) {
        const st = await fsp.lstat(`${dir.path.host}/${name}`).catch(() => undefined);
        if (st) names.push({ filename: name, longname: longname(name, st), attrs: attrsOf(st) });
      }
      sftp.name(reqid, names);
    }),
  );
  sftp.on('REMOVE', (reqid, path) =>
    run(reqid, async () => {
      await fsp.unlink((await resolve(path, false)).host);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('RMDIR', (reqid, path) =>
    run(reqid, async () => {
      await fsp.rmdir((await resolve(path, false)).host);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('MKDIR', (reqid, path, attrs) =>
    run(reqid, async () => {
      const r = await resolve(path, false);
      await fsp.mkdir(r.host, { mode: attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o755 });
      await chownNew(r.host);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqid, from, to) =>
    run(reqid, async () => {
      await fsp.rename((await resolve(from, false)).host, (await resolve(to, false)).host);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  sftp.on('READLINK', (reqid, path) =>
    run(reqid, async () => {
      const target = await fsp.readlink((await resolve(path, false)).host);
      sftp.name(reqid, [{ filename: target, longname: target, attrs: {} as Attributes }]);
    }),
  );
  // OpenSSH's sftp sends SYMLINK's two paths in the opposite order to the draft (target first, then the new
  // link), as its sftp-server expects; ssh2 passes them on as sent.
  sftp.on('SYMLINK', (reqid, target, linkPath) =>
    run(reqid, async () => {
      const r = await resolve(linkPath, false);
      await fsp.symlink(target, r.host);
      await chownNew(r.host);
      sftp.status(reqid, STATUS_CODE.OK);
    }),
  );
  // The client's EOF ends the subsystem: exit-status 0 (as sshd reports sftp-server's; scp fails without one),
  // then close our side too. ssh2's SFTP object is no Channel and has no exit(): its protocol sends it.
  sftp.on('end', () => {
    const raw = sftp as unknown as { _protocol?: { exitStatus(chan: number, status: number): void }; outgoing?: { id: number; state: string } };
    if (raw._protocol && raw.outgoing?.state === 'open') raw._protocol.exitStatus(raw.outgoing.id, 0);
    sftp.end();
  });
  sftp.on('close', () => {
    for (const h of handles.values()) void h.fd?.close().catch(() => undefined);
    handles.clear();
  });
}
