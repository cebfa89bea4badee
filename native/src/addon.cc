// In-process system calls for the agent: device nodes and extended attributes for
// unpacking layers (overlay whiteouts), mounts and namespace handles for sandboxes,
// and sockets created inside a pod's network namespace (probes, port-forward).
// Each function throws an Error whose `code` is the errno name and whose message
// names the operation and the path ("mknod /x/y: EPERM").
#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include <string>
#include <vector>

namespace {

const char *ErrnoName(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM)
    E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(ENOTSUP) E(EOVERFLOW) E(EDQUOT)
    E(EAFNOSUPPORT) E(EPROTONOSUPPORT) E(ENOBUFS)
#undef E
    default:
      return "EUNKNOWN";
  }
}

Napi::Value ThrowErrno(Napi::Env env, const std::string &op, const std::string &path, int err) {
  std::string msg = op + " " + path + ": " + ErrnoName(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, op));
  e.Set("path", Napi::String::New(env, path));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ArgString(const Napi::CallbackInfo &info, size_t i, std::string *out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " contains a NUL byte")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgUint(const Napi::CallbackInfo &info, size_t i, uint64_t *out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d < 0 || d != (double)(uint64_t)d) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + " must be a non-negative integer")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

// mknod(path, mode, major, minor): mode includes the file type (S_IFCHR etc.).
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  std::string path;
  uint64_t mode, major, minor;
  if (!ArgString(info, 0, &path) || !ArgUint(info, 1, &mode) || !ArgUint(info, 2, &major) ||
      !ArgUint(info, 3, &minor))
    return info.Env().Undefined();
  if (mknod(path.c_str(), (mode_t)mode, makedev(major, minor)) != 0)
    return ThrowErrno(info.Env(), "mknod", path, errno);
  return info.Env().Undefined();
}

Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  std::string path, name;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &name)) return info.Env().Undefined();
  if (info.Length() < 3 || !info[2].IsBuffer()) {
    Napi::TypeError::New(info.Env(), "argument 3 must be a Buffer").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto buf = info[2].As<Napi::Buffer<uint8_t>>();
  if (lsetxattr(path.c_str(), name.c_str(), buf.Data(), buf.Length(), 0) != 0)
    return ThrowErrno(info.Env(), "lsetxattr " + name + " on", path, errno);
  return info.Env().Undefined();
}

// lgetxattr(path, name): the value, or undefined when the attribute is absent.
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  std::string path, name;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &name)) return info.Env().Undefined();
  for (int attempt = 0; attempt < 4; attempt++) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) return info.Env().Undefined();
      return ThrowErrno(info.Env(), "lgetxattr " + name + " on", path, errno);
    }
    std::vector<uint8_t> data(n > 0 ? n : 1);
    ssize_t m = lgetxattr(path.c_str(), name.c_str(), data.data(), n);
    if (m < 0) {
      if (errno == ERANGE) continue;  // grew between the two calls
      if (errno == ENODATA) return info.Env().Undefined();
      return ThrowErrno(info.Env(), "lgetxattr " + name + " on", path, errno);
    }
    return Napi::Buffer<uint8_t>::Copy(info.Env(), data.data(), m);
  }
  return ThrowErrno(info.Env(), "lgetxattr " + name + " on", path, ERANGE);
}

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo &info) {
  std::string source, target, fstype, data;
  uint64_t flags;
  if (!ArgString(info, 0, &source) || !ArgString(info, 1, &target) || !ArgString(info, 2, &fstype) ||
      !ArgUint(info, 3, &flags) || !ArgString(info, 4, &data))
    return info.Env().Undefined();
  if (mount(source.empty() ? nullptr : source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(),
            (unsigned long)flags, data.empty() ? nullptr : data.c_str()) != 0)
    return ThrowErrno(info.Env(), "mount " + (fstype.empty() ? source : fstype) + " on", target, errno);
  return info.Env().Undefined();
}

// umount2(target, flags): EINVAL (not a mount point) and ENOENT are reported, not ignored.
Napi::Value Umount(const Napi::CallbackInfo &info) {
  std::string target;
  uint64_t flags;
  if (!ArgString(info, 0, &target) || !ArgUint(info, 1, &flags)) return info.Env().Undefined();
  if (umount2(target.c_str(), (int)flags) != 0) return ThrowErrno(info.Env(), "umount", target, errno);
  return info.Env().Undefined();
}

// Starts a helper that reports on fd 3 and daemonizes itself (tsk-monitor run): spawns
// it with posix_spawn (vfork-fast even from a large Node process, in a new session,
// stdio on /dev/null), reaps the short-lived parent and resolves with the first line
// the helper wrote on fd 3. Runs off the main thread.
class SpawnReportWorker : public Napi::AsyncWorker {
 public:
  SpawnReportWorker(Napi::Env env, std::string path, std::vector<std::string> args)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        args_(std::move(args)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return Fail("pipe", errno);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, p[1], 3);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>(path_.c_str()));
    for (auto &a : args_) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, path_.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (rc != 0) {
      close(p[0]);
      return Fail("spawn", rc);
    }
    char buf[2048];
    size_t n = 0;
    while (n < sizeof buf - 1) {
      ssize_t r = read(p[0], buf + n, sizeof buf - 1 - n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      n += r;
      if (memchr(buf, '\n', n)) break;
    }
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    line_.assign(buf, n);
  }
  void OnOK() override {
    if (!err_.empty()) {
      Napi::Error e = Napi::Error::New(Env(), err_);
      e.Set("code", Napi::String::New(Env(), code_));
      deferred_.Reject(e.Value());
    } else {
      deferred_.Resolve(Napi::String::New(Env(), line_));
    }
  }

 private:
  void Fail(const char *op, int e) {
    err_ = std::string(op) + " " + path_ + ": " + ErrnoName(e);
    code_ = ErrnoName(e);
  }
  Napi::Promise::Deferred deferred_;
  std::string path_, line_, err_, code_;
  std::vector<std::string> args_;
};

Napi::Value SpawnReport(const Napi::CallbackInfo &info) {
  std::string path;
  if (!ArgString(info, 0, &path)) return info.Env().Undefined();
  if (info.Length() < 2 || !info[1].IsArray()) {
    Napi::TypeError::New(info.Env(), "argument 2 must be an array of strings").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto arr = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) {
      Napi::TypeError::New(info.Env(), "argument 2 must be an array of strings").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  auto *w = new SpawnReportWorker(info.Env(), path, std::move(args));
  auto promise = w->Promise();
  w->Queue();
  return promise;
}

// fsBatch(ops): file system steps run in order on one pool thread, so setting up a
// cgroup or a container directory costs the event loop one round trip instead of one
// (or three, for writeFile) per file. Each op is [kind, path, data?]:
//   "mkdirp"  mkdir -p, mode 0755, an existing directory is fine
//   "mkdir"   mkdir, mode 0755, an existing directory is fine
//   "write"   write data to an existing file (cgroup control files): O_WRONLY, one write(2)
//   "create"  create or truncate a regular file (mode 0644) and write data
// It stops at the first failure and rejects with "<op> <path>: ERRNO" (the value too
// for "write", as cgroup files refuse values: "write 33554432 to /sys/...: EINVAL").
struct FsOp {
  std::string kind, path, data;
};

class FsBatchWorker : public Napi::AsyncWorker {
 public:
  FsBatchWorker(Napi::Env env, std::vector<FsOp> ops)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), ops_(std::move(ops)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (auto &op : ops_) {
      if (op.kind == "mkdir" || op.kind == "mkdirp") {
        if (op.kind == "mkdirp") {
          for (size_t i = 1; i < op.path.size(); i++) {
            if (op.path[i] != '/') continue;
            std::string parent = op.path.substr(0, i);
            if (mkdir(parent.c_str(), 0755) < 0 && errno != EEXIST) return Fail("mkdir", op.path, errno);
          }
        }
        if (mkdir(op.path.c_str(), 0755) < 0 && errno != EEXIST) return Fail("mkdir", op.path, errno);
      } else if (op.kind == "write" || op.kind == "create") {
        bool create = op.kind == "create";
        int fd = open(op.path.c_str(), create ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) return Fail(create ? "create" : "write", op.path, errno, &op.data);
        size_t off = 0;
        while (off < op.data.size()) {
          ssize_t w = write(fd, op.data.data() + off, op.data.size() - off);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) {
            int e = errno;
            close(fd);
            return Fail(create ? "create" : "write", op.path, e, &op.data);
          }
          off += w;
        }
        if (close(fd) < 0 && errno != EINTR) return Fail("close", op.path, errno);
      } else {
        return Fail(op.kind.c_str(), op.path, EINVAL);
      }
    }
  }
  void OnOK() override {
    if (err_.empty()) return deferred_.Resolve(Env().Undefined());
    Napi::Error e = Napi::Error::New(Env(), err_);
    e.Set("code", Napi::String::New(Env(), code_));
    e.Set("path", Napi::String::New(Env(), path_));
    deferred_.Reject(e.Value());
  }

 private:
  void Fail(const char *op, const std::string &path, int e, const std::string *value = nullptr) {
    if (value && std::string(op) == "write")
      err_ = "write " + value->substr(0, 64) + " to " + path + ": " + ErrnoName(e);
    else
      err_ = std::string(op) + " " + path + ": " + ErrnoName(e);
    code_ = ErrnoName(e);
    path_ = path;
  }
  Napi::Promise::Deferred deferred_;
  std::vector<FsOp> ops_;
  std::string err_, code_, path_;
};

Napi::Value FsBatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "argument 1 must be an array of [kind, path, data?]").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto arr = info[0].As<Napi::Array>();
  std::vector<FsOp> ops;
  ops.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsArray()) {
      Napi::TypeError::New(env, "each op must be [kind, path, data?]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto t = v.As<Napi::Array>();
    Napi::Value k = t.Get(0u), p = t.Get(1u), d = t.Get(2u);
    if (!k.IsString() || !p.IsString() || !(d.IsUndefined() || d.IsString())) {
      Napi::TypeError::New(env, "each op must be [kind, path, data?] strings").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    FsOp op{k.As<Napi::String>().Utf8Value(), p.As<Napi::String>().Utf8Value(),
            d.IsString() ? d.As<Napi::String>().Utf8Value() : std::string()};
    if (op.path.empty() || op.path.find('\0') != std::string::npos) {
      Napi::TypeError::New(env, "paths must be non-empty and without NUL").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ops.push_back(std::move(op));
  }
  auto *w = new FsBatchWorker(env, std::move(ops));
  auto promise = w->Promise();
  w->Queue();
  return promise;
}

// socketInNetns(netnsPath, family): a new TCP socket (non-blocking, close-on-exec,
// not yet connected) that lives in the network namespace bound at netnsPath; family
// is 4 or 6. A socket keeps the namespace it was created in, so the caller connects
// it like any other one. The calling thread enters the namespace only for the
// socket() call and returns to its own namespace before anything else runs on it.
// It runs on the calling (JavaScript) thread, not as async work: nothing in it blocks
// (open of an nsfs file, two setns, one socket: about 20 us in all, measured with
// bench/runtime/dial.ts) and the caller wants the descriptor at once.
Napi::Value SocketInNetns(const Napi::CallbackInfo &info) {
  std::string path;
  uint64_t family;
  if (!ArgString(info, 0, &path) || !ArgUint(info, 1, &family)) return info.Env().Undefined();
  if (family != 4 && family != 6) {
    Napi::TypeError::New(info.Env(), "argument 2 must be 4 or 6").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // This thread's namespace now (the thread's, not the process's: another thread
  // may have been moved on purpose), opened before leaving it so we can come back.
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return ThrowErrno(info.Env(), "open", "/proc/thread-self/ns/net", errno);
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return ThrowErrno(info.Env(), "open", path, e);
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    // EINVAL: the file is not a network namespace (e.g. the bind mount is gone).
    int e = errno;
    close(target);
    close(self);
    return ThrowErrno(info.Env(), "setns", path, e);
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int socketErr = errno;
  if (setns(self, CLONE_NEWNET) != 0) {
    // This is the JavaScript thread: every socket it opens afterwards (the link to
    // the server, listeners, other pods' probes) would silently live in this pod's
    // namespace. There is no safe way to go on; dying lets the supervisor restart
    // the agent in the right namespace (containers keep running and are re-adopted).
    fprintf(stderr, "tsk: cannot return to the original network namespace after entering %s: %s\n",
            path.c_str(), ErrnoName(errno));
    abort();
  }
  close(target);
  close(self);
  if (fd < 0) return ThrowErrno(info.Env(), "socket in", path, socketErr);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnReport", Napi::Function::New(env, SpawnReport, "spawnReport"));
  exports.Set("fsBatch", Napi::Function::New(env, FsBatch, "fsBatch"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount", Napi::Function::New(env, Umount, "umount"));
  exports.Set("socketInNetns", Napi::Function::New(env, SocketInNetns, "socketInNetns"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("MS_RDONLY", (double)MS_RDONLY);
  c.Set("MS_NOSUID", (double)MS_NOSUID);
  c.Set("MS_NODEV", (double)MS_NODEV);
  c.Set("MS_NOEXEC", (double)MS_NOEXEC);
  c.Set("MS_BIND", (double)MS_BIND);
  c.Set("MS_REC", (double)MS_REC);
  c.Set("MS_PRIVATE", (double)MS_PRIVATE);
  c.Set("MS_REMOUNT", (double)MS_REMOUNT);
  c.Set("MNT_DETACH", (double)MNT_DETACH);
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(tsk_native, Init)
