// The N-API surface of devenv_native.node (typed in native/index.d.ts). The only file that includes napi.h:
// the syscalls themselves live in plain C (lock.c, pidfd.c).
#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "container-connect.h"
#include "lock.h"
#include "pidfd.h"
#include "spawn.h"
#include "xattr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace {

std::string ErrnoName(int err) {
  const char *name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : "E" + std::to_string(err);
}

// Shaped like Node's own system errors: message "EBADF: Bad file descriptor, flock", plus code, errno
// (positive, as in the runtime's sync-fd errors), syscall and, when there is one, path.
Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const char *path = nullptr) {
  std::string code = ErrnoName(err);
  std::string message = code + ": " + std::strerror(err) + ", " + syscall;
  if (path != nullptr) message += std::string(" '") + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) error.Set("path", Napi::String::New(env, path));
  return error;
}

int32_t IntArg(const Napi::CallbackInfo &info, size_t index, const char *name, int32_t min) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("The \"") + name + "\" argument must be a number");
  }
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(value) || std::trunc(value) != value || value < min || value > 2147483647.0) {
    throw Napi::RangeError::New(info.Env(), std::string("The \"") + name + "\" argument must be an integer >= " +
                                                std::to_string(min));
  }
  return static_cast<int32_t>(value);
}

bool BoolArg(const Napi::CallbackInfo &info, size_t index, const char *name) {
  if (info.Length() <= index || !info[index].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string("The \"") + name + "\" argument must be a boolean");
  }
  return info[index].As<Napi::Boolean>().Value();
}

// flock(fd, exclusive, nonBlocking): true when locked, false when nonBlocking and the lock is busy.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0, "fd", 0);
  bool exclusive = BoolArg(info, 1, "exclusive");
  bool non_blocking = BoolArg(info, 2, "nonBlocking");
  int rc = dv_flock(fd, exclusive, non_blocking);
  if (rc < 0) throw ErrnoError(info.Env(), errno, "flock");
  return Napi::Boolean::New(info.Env(), rc == 1);
}

// pidfdOpen(pid): a close-on-exec pidfd.
Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  int pid = IntArg(info, 0, "pid", 1);
  int fd = dv_pidfd_open(pid);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), fd);
}

// pidfdSendSignal(pidfd, signal): signal 0 only checks that the process is alive.
Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  int pidfd = IntArg(info, 0, "pidfd", 0);
  int sig = IntArg(info, 1, "signal", 0);
  if (dv_pidfd_send_signal(pidfd, sig) < 0) throw ErrnoError(info.Env(), errno, "pidfd_send_signal");
  return info.Env().Undefined();
}

// spawnWithSync(file, args, inheritStdio): { pid, syncFd }. args excludes argv[0] (file is used).
Napi::Value SpawnWithSync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "spawnWithSync(file: string, args: string[], inheritStdio: boolean)");
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  bool inherit = BoolArg(info, 2, "inheritStdio");
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  args.push_back(file);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "The \"args\" argument must be an array of strings");
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int sync_fd = -1;
  pid_t pid = dv_spawn_with_sync(file.c_str(), argv.data(), inherit ? 1 : 0, &sync_fd);
  if (pid < 0) throw ErrnoError(env, errno, "posix_spawn", file.c_str());
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("syncFd", Napi::Number::New(env, sync_fd));
  return out;
}

// waitExit(pid): blocks until the child ends; its exit code (128+signal when killed).
Napi::Value WaitExit(const Napi::CallbackInfo &info) {
  int pid = IntArg(info, 0, "pid", 1);
  int code = 0;
  if (dv_wait_exit(pid, &code) < 0) throw ErrnoError(info.Env(), errno, "waitpid");
  return Napi::Number::New(info.Env(), code);
}

// connectInContainer(pid, family, address, port, timeoutMs): a Promise of a connected fd, made inside the
// container's namespaces by a forked helper (container-connect.c); the fork and the wait run on the libuv pool.
class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, int pid, sockaddr_storage addr, socklen_t len, int timeout_ms, std::string what)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), pid_(pid), addr_(addr), len_(len),
        timeout_ms_(timeout_ms), what_(std::move(what)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    fd_ = dv_connect_in_container(pid_, reinterpret_cast<sockaddr *>(&addr_), len_, timeout_ms_);
    if (fd_ < 0) errno_ = errno;
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (fd_ < 0) {
      deferred_.Reject(ErrnoError(env, errno_, "connect", what_.c_str()).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(env, fd_));
    }
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int pid_;
  sockaddr_storage addr_;
  socklen_t len_;
  int timeout_ms_;
  std::string what_;
  int fd_ = -1;
  int errno_ = 0;
};

Napi::Value ConnectInContainer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int pid = IntArg(info, 0, "pid", 1);
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsString()) {
    throw Napi::TypeError::New(env, "connectInContainer(pid, family: 'tcp4'|'tcp6'|'unix', address, port, timeoutMs)");
  }
  std::string family = info[1].As<Napi::String>().Utf8Value();
  std::string address = info[2].As<Napi::String>().Utf8Value();
  int port = IntArg(info, 3, "port", 0);
  int timeout_ms = IntArg(info, 4, "timeoutMs", 1);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (family == "unix") {
    auto *un = reinterpret_cast<sockaddr_un *>(&addr);
    if (address.empty() || address.size() >= sizeof(un->sun_path)) throw Napi::RangeError::New(env, "unix socket path too long or empty");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.c_str(), address.size() + 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + 1);
  } else if (family == "tcp4") {
    auto *in = reinterpret_cast<sockaddr_in *>(&addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) != 1) throw Napi::TypeError::New(env, "not an IPv4 address: " + address);
    len = sizeof(sockaddr_in);
  } else if (family == "tcp6") {
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1) throw Napi::TypeError::New(env, "not an IPv6 address: " + address);
    len = sizeof(sockaddr_in6);
  } else {
    throw Napi::TypeError::New(env, "family must be tcp4, tcp6 or unix");
  }
  std::string what = family == "unix" ? address : address + ":" + std::to_string(port);
  auto *worker = new ConnectWorker(env, pid, addr, len, timeout_ms, what);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// openHostPty(rows, cols): { master, slave }, both close-on-exec.
Napi::Value OpenHostPty(const Napi::CallbackInfo &info) {
  int rows = IntArg(info, 0, "rows", 0);
  int cols = IntArg(info, 1, "cols", 0);
  int master = -1, slave = -1;
  if (dv_host_pty_open(rows, cols, &master, &slave) < 0) throw ErrnoError(info.Env(), errno, "openpty");
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("master", Napi::Number::New(info.Env(), master));
  out.Set("slave", Napi::Number::New(info.Env(), slave));
  return out;
}

// setWinsize(fd, rows, cols)
Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  int fd = IntArg(info, 0, "fd", 0);
  int rows = IntArg(info, 1, "rows", 0);
  int cols = IntArg(info, 2, "cols", 0);
  if (dv_set_winsize(fd, rows, cols) < 0) throw ErrnoError(info.Env(), errno, "ioctl");
  return info.Env().Undefined();
}

// getXattr(path, name): the value of extended attribute `name` of `path` (a symlink itself, not followed) as a
// Buffer, or null when the file has none of that name (or its file system keeps none).
Napi::Value GetXattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "getXattr(path, name): both arguments must be strings");
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  char *value = nullptr;
  size_t len = 0;
  int rc = dv_get_xattr(path.c_str(), name.c_str(), &value, &len);
  if (rc < 0) throw ErrnoError(env, errno, "lgetxattr", path.c_str());
  if (rc == 0) return env.Null();
  Napi::Buffer<char> out = Napi::Buffer<char>::Copy(env, value, len);
  free(value);
  return out;
}

// listXattrs(path): the names of `path`'s extended attributes (a symlink itself, not followed).
Napi::Value ListXattrs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "listXattrs(path): path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  char *names = nullptr;
  size_t len = 0;
  if (dv_list_xattrs(path.c_str(), &names, &len) < 0) throw ErrnoError(env, errno, "llistxattr", path.c_str());
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (size_t i = 0; i < len;) {
    size_t l = strnlen(names + i, len - i);
    if (l > 0) out.Set(n++, Napi::String::New(env, names + i, l));
    i += l + 1;
  }
  free(names);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connectInContainer", Napi::Function::New(env, ConnectInContainer, "connectInContainer"));
  exports.Set("openHostPty", Napi::Function::New(env, OpenHostPty, "openHostPty"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("spawnWithSync", Napi::Function::New(env, SpawnWithSync, "spawnWithSync"));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit, "waitExit"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("getXattr", Napi::Function::New(env, GetXattr, "getXattr"));
  exports.Set("listXattrs", Napi::Function::New(env, ListXattrs, "listXattrs"));
  return exports;
}

}  // namespace

NODE_API_MODULE(devenv_native, Init)
