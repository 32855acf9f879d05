/**
 * The shell side of `devenv image bootstrap`: one bash script run inside private mount and PID namespaces (and,
 * for a user who is not root, a user namespace mapping them to root and their subordinate ids to 1…65535). It
 * runs debootstrap, slims the tree, and writes the layer tar to stdout; everything else goes to stderr, with
 * `devenv-stage: NAME` lines marking the stages. Its work folder is removed on exit, from inside the namespace
 * (where the files' owners are mapped), so a rootless user can remove what a rootless debootstrap created.
 */

/** Stages the script announces on stderr, in order. */
export const BOOTSTRAP_STAGES = ['download', 'install', 'slim', 'layer'] as const;
export type BootstrapStage = (typeof BOOTSTRAP_STAGES)[number];

export const STAGE_PREFIX = 'devenv-stage: ';

/** The positional arguments of the script, in order. */
export interface BootstrapScriptArgs {
  /** A fresh folder for this run (the root file system is built in `<work>/rootfs`). */
  work: string;
  /** The cached package tarball (debootstrap --make-tarball / --unpack-tarball). */
  tarball: string;
  /** Download the packages into `tarball` first (it is absent, or a refresh was asked for). */
  download: boolean;
  suite: string;
  /** A debootstrap variant, or `default` for none. */
  variant: string;
  /** Debian architecture (`amd64`). */
  arch: string;
  mirror: string;
  /** Running in a user namespace: device nodes cannot be made, so the host's are bind-mounted. */
  rootless: boolean;
  /** Clamp mtimes to this (SOURCE_DATE_EPOCH), or '' for none. */
  sourceDateEpoch: string;
  /** Work folders of interrupted runs to remove (inside the namespace, where their owners are mapped). */
  stale: string[];
}

export function bootstrapScriptArgv(args: BootstrapScriptArgs): string[] {
  return [
    args.work,
    args.tarball,
    args.download ? '1' : '0',
    args.suite,
    args.variant,
    args.arch,
    args.mirror,
    args.rootless ? '1' : '0',
    args.sourceDateEpoch,
    ...args.stale,
  ];
}

// Written with `@{` for the shell's `${` (a template literal would take `${` for itself).
export const BOOTSTRAP_SCRIPT = String.raw`
set -euo pipefail
umask 022
work=$1 tarball=$2 download=$3 suite=$4 variant=$5 arch=$6 mirror=$7 rootless=$8 epoch=$9
shift 9
for old in "$@"; do rm -rf -- "$old" || true; done

target=$work/rootfs
stage() { printf '${STAGE_PREFIX}%s\n' "$1" >&2; }
show_log() { # debootstrap's own log says what dpkg or apt did wrong
  if [ -f "$1/debootstrap/debootstrap.log" ]; then
    echo "--- last lines of debootstrap.log ---" >&2
    tail -n 25 "$1/debootstrap/debootstrap.log" >&2 || true
  fi
}
cleanup() {
  if [ "$rootless" = 1 ]; then
    for d in null zero full random urandom tty; do umount "$target/dev/$d" 2>/dev/null || true; done
  fi
  rm -rf -- "$work"
  rm -f -- "$tarball.tmp-@{work##*/}.tgz"
}
trap cleanup EXIT
mkdir -p "$work"

variant_args=()
[ "$variant" = default ] || variant_args=(--variant="$variant")

if [ "$download" = 1 ]; then
  stage download
  tmp=$tarball.tmp-@{work##*/}.tgz
  if ! debootstrap "@{variant_args[@]}" --arch="$arch" --make-tarball="$tmp" "$suite" "$work/download" "$mirror" >&2; then
    show_log "$work/download"
    exit 1
  fi
  mv -f -- "$tmp" "$tarball"
  rm -rf -- "$work/download"
fi

stage install
mkdir -p "$target/dev"
if [ "$rootless" = 1 ]; then
  # mknod is not allowed in a user namespace: debootstrap finds these and keeps them (it skips existing nodes)
  for d in null zero full random urandom tty; do
    [ -c "/dev/$d" ] || continue
    : >"$target/dev/$d"
    mount --bind "/dev/$d" "$target/dev/$d"
  done
fi
if ! debootstrap "@{variant_args[@]}" --arch="$arch" --unpack-tarball="$tarball" "$suite" "$target" "$mirror" >&2; then
  show_log "$target"
  exit 1
fi

stage slim
# apt's downloaded lists and packages, logs, backups, and what debootstrap copied from this host
rm -rf "$target"/var/cache/apt/archives/*.deb "$target"/var/cache/apt/*.bin "$target"/var/lib/apt/lists/* \
  "$target"/var/log/*.log "$target"/var/log/apt/* "$target"/var/cache/debconf/*-old "$target"/var/lib/dpkg/*-old \
  "$target"/var/cache/ldconfig/aux-cache "$target"/debootstrap
mkdir -p "$target/var/lib/apt/lists/partial"
rm -f "$target/etc/resolv.conf" "$target/etc/hostname"
: >"$target/etc/resolv.conf"
echo debian >"$target/etc/hostname"

stage layer
tar_args=(--numeric-owner --sort=name --format=posix
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime,delete=mtime
  --xattrs --xattrs-include=security.capability
  '--exclude=./dev/*' '--exclude=./proc/*' '--exclude=./sys/*')
[ -z "$epoch" ] || tar_args+=(--mtime="@$epoch" --clamp-mtime)
tar "@{tar_args[@]}" -C "$target" -cf - .
`.replaceAll('@{', '${');

/**
 * The command that runs the script: in new mount and PID namespaces (so debootstrap's /proc and bind mounts
 * vanish with it, even when killed), and for a non-root user in a user namespace where they are root and their
 * first subordinate range is 1…65535 (`unshare --map-root-user --map-auto`, util-linux ≥ 2.38 with newuidmap).
 */
export function namespaceArgv(options: { rootless: boolean; unshare: string }): string[] {
  const user = options.rootless ? ['--map-root-user', '--map-auto'] : [];
  return [options.unshare, ...user, '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--mount-proc'];
}

/** One line of the script's stderr, classified. */
export type ScriptLine =
  | { kind: 'stage'; stage: BootstrapStage }
  | { kind: 'info' | 'warning' | 'error'; text: string }
  | { kind: 'other'; text: string };

/** Classify a stderr line: our stage markers, debootstrap's `I:`/`W:`/`E:` lines, anything else. */
export function classifyScriptLine(line: string): ScriptLine {
  if (line.startsWith(STAGE_PREFIX)) {
    const stage = line.slice(STAGE_PREFIX.length).trim();
    if ((BOOTSTRAP_STAGES as readonly string[]).includes(stage)) return { kind: 'stage', stage: stage as BootstrapStage };
  }
  const m = /^([IWE]): (.*?)\s*$/.exec(line);
  if (m?.[2] !== undefined) return { kind: m[1] === 'I' ? 'info' : m[1] === 'W' ? 'warning' : 'error', text: m[2] };
  return { kind: 'other', text: line };
}

/**
 * Whether a debootstrap `I:` line is worth a progress line: the first of each run of lines with the same verb
 * (`Retrieving libc6 …`, `Retrieving bash …` → only the first), so a bootstrap prints ~20 lines, not ~400.
 */
export function isNewProgressStep(previous: string | undefined, text: string): boolean {
  // Retrieving and Validating alternate for each package: one step.
  const verb = (t: string): string => (t.split(' ')[0] ?? '').replace(/^Validating$/, 'Retrieving');
  return previous === undefined || verb(previous) !== verb(text);
}
