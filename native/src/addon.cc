// The N-API surface of devenv_native.node (typed in native/index.d.ts). The only file that includes napi.h:
// the syscalls themselves live in plain C (lock.c, pidfd.c).
#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "lock.h"
#include "pidfd.h"
#include "spawn.h"

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnWithSync", Napi::Function::New(env, SpawnWithSync, "spawnWithSync"));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit, "waitExit"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  return exports;
}

}  // namespace

NODE_API_MODULE(devenv_native, Init)
