{
  "targets": [
    {
      "target_name": "devenv_native",
      "sources": ["src/addon.cc", "src/lock.c", "src/pidfd.c", "src/spawn.c", "src/container-connect.c", "src/xattr.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17"]
    },
    {
      "target_name": "devenv-runtime",
      "type": "executable",
      "sources": [
        "src/main.c",
        "src/errors.c",
        "src/memfd-exec.c",
        "src/spec.c",
        "src/idmap.c",
        "src/cgroup.c",
        "src/mounts.c",
        "src/container.c",
        "src/init.c",
        "src/monitor.c",
        "src/network.c",
        "src/log.c",
        "src/remove-tree.c",
        "src/process.c",
        "src/caps.c",
        "src/seccomp.c",
        "src/pty.c",
        "src/exec.c",
        "src/idle-memory.c",
        "src/unpack.c",
        "src/unpack-path.c",
        "src/unpack-entry.c",
        "src/unpack-meta.c",
        "src/unpack-source.c",
        "src/forward.c",
        "src/forward-ns.c",
        "src/forward-auto.c",
        "src/forward-udp.c",
        "src/forward-ctl.c"
      ],
      "include_dirs": ["gen"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11", "-D_GNU_SOURCE", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "libraries": ["-lseccomp", "-ljansson", "-larchive", "-lz", "-lzstd", "-lcrypto"]
    }
  ]
}
