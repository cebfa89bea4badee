// What happens inside the container's new namespaces before exec: rootfs, /proc,
// /sys, /dev, volumes, pivot_root, masked paths, hostname, cgroup, privileges.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "monitor.h"

extern char **environ;

#include <time.h>
void trace(const char *what) {
  static int fd = -2;
  if (fd == -2) {
    const char *f = getenv("TSK_MONITOR_TRACE");
    fd = f ? open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  }
  if (fd < 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char buf[128];
  int n = snprintf(buf, sizeof buf, "%ld.%06ld %d %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(), what);
  if (write(fd, buf, n) < 0) {
  }
}

const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ELOOP: return "ELOOP";
    case ENOMEM: return "ENOMEM";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EAGAIN: return "EAGAIN";
    case ESRCH: return "ESRCH";
    default: return "EUNKNOWN";
  }
}

void fail(int fd, const char *fmt, ...) {
  char msg[1024];
  msg[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof msg - 2) n = sizeof msg - 2;
  if (write(fd, msg, n + 1) < 0) {
  }
  _exit(127);
}

// The config file: NUL-separated "key", "value" pairs written by the runtime.
int read_config(const char *path, struct config *c) {
  memset(c, 0, sizeof *c);
  c->log_max_size = 10LL << 20;  // the kubelet's containerLogMaxSize and containerLogMaxFiles
  c->log_max_files = 5;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  c->buf = malloc(st.st_size + 1);
  if (!c->buf) return -1;
  ssize_t n = 0;
  while (n < st.st_size) {
    ssize_t r = read(fd, c->buf + n, st.st_size - n);
    if (r <= 0) break;
    n += r;
  }
  close(fd);
  c->buf[n] = 0;
  char *p = c->buf, *end = c->buf + n;
  while (p < end) {
    char *k = p;
    p += strlen(p) + 1;
    if (p >= end) break;
    char *v = p;
    p += strlen(p) + 1;
    if (!strcmp(k, "rootfs")) c->rootfs = v;
    else if (!strcmp(k, "overlay")) c->overlay = v;
    else if (!strcmp(k, "hostname")) c->hostname = v;
    else if (!strcmp(k, "cwd")) c->cwd = v;
    else if (!strcmp(k, "log")) c->log = v;
    else if (!strcmp(k, "oom")) c->oom = v;
    else if (!strcmp(k, "netns")) c->netns = v;
    else if (!strcmp(k, "ipcns")) c->ipcns = v;
    else if (!strcmp(k, "utsns")) c->utsns = v;
    else if (!strcmp(k, "uid")) c->uid = strtoul(v, NULL, 10);
    else if (!strcmp(k, "gid")) c->gid = strtoul(v, NULL, 10);
    else if (!strcmp(k, "log_max_size")) c->log_max_size = strtoll(v, NULL, 10);
    else if (!strcmp(k, "log_max_files")) c->log_max_files = atoi(v);
    else if (!strcmp(k, "caps")) {
      c->caps = strtoull(v, NULL, 16);
      c->has_caps = 1;
    } else if (!strcmp(k, "privileged")) c->privileged = v[0] == '1';
    else if (!strcmp(k, "readonly_rootfs")) c->readonly_rootfs = v[0] == '1';
    else if (!strcmp(k, "no_new_privs")) c->no_new_privs = v[0] == '1';
    else if (!strcmp(k, "tty")) c->tty = v[0] == '1';
    else if (!strcmp(k, "stdin")) c->stdin_open = v[0] == '1';
    else if (!strcmp(k, "group") && c->ngroups < 32) c->groups[c->ngroups++] = strtoul(v, NULL, 10);
    else if (!strcmp(k, "arg") && c->nargv < MAX_LIST) c->argv[c->nargv++] = v;
    else if (!strcmp(k, "env") && c->nenv < MAX_LIST) c->env[c->nenv++] = v;
    else if (!strcmp(k, "cgroup") && c->ncgroups < 32) c->cgroups[c->ncgroups++] = v;
    else if (!strcmp(k, "bind") && c->nbinds < 64) {
      // "SRC\tDST\tro|rw"
      struct bind *b = &c->binds[c->nbinds];
      char *t1 = strchr(v, '\t');
      if (!t1) continue;
      *t1 = 0;
      char *t2 = strchr(t1 + 1, '\t');
      if (!t2) continue;
      *t2 = 0;
      b->src = v;
      b->dst = t1 + 1;
      b->ro = !strcmp(t2 + 1, "ro");
      c->nbinds++;
    }
  }
  return c->nargv > 0 && c->rootfs ? 0 : -1;
}

int mkdir_p(const char *path, mode_t mode) {
  char tmp[4096];
  size_t len = strlen(path);
  if (len >= sizeof tmp) return -1;
  memcpy(tmp, path, len + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, strlen(data));
  int e = errno;
  close(fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

int join_cgroups(const char *const *dirs, int n, char *err, size_t errlen) {
  return move_to_cgroups(dirs, n, 0, err, errlen);
}

int cgroups_v1(const char *const *dirs, int n) {
  char path[4096];
  if (n == 0) return 0;
  snprintf(path, sizeof path, "%s/tasks", dirs[0]);
  return access(path, W_OK) == 0;
}

int move_to_cgroups(const char *const *dirs, int n, int pid, char *err, size_t errlen) {
  char path[4096], num[16];
  snprintf(num, sizeof num, "%d", pid);
  for (int i = 0; i < n; i++) {
    // Moving only the calling thread through v1's "tasks" file skips the global
    // threadgroup lock (and its RCU grace period); callers are single-threaded.
    snprintf(path, sizeof path, "%s/tasks", dirs[i]);
    if (pid != 0 || access(path, W_OK) < 0) snprintf(path, sizeof path, "%s/cgroup.procs", dirs[i]);
    if (write_file(path, num) < 0) {
      snprintf(err, errlen, "join cgroup %s: %s", dirs[i], errname(errno));
      return -1;
    }
  }
  return 0;
}

void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

// Docker's default capability set.
static const int docker_caps[] = {
    CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,     CAP_MKNOD,
    CAP_NET_RAW,    CAP_SETGID,       CAP_SETUID,           CAP_SETFCAP,    CAP_SETPCAP,
    CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,         CAP_AUDIT_WRITE,
};

unsigned long long default_caps(void) {
  unsigned long long keep = 0;
  for (size_t i = 0; i < sizeof docker_caps / sizeof docker_caps[0]; i++) keep |= 1ULL << docker_caps[i];
  return keep;
}

int apply_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, const struct privileges *p, char *err,
                     size_t errlen) {
  unsigned long long caps = 0;
  for (int cap = 0; cap < 64; cap++) {
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) break;  // past the last capability this kernel knows
    if (!(p->caps & (1ULL << cap))) {
      if (held && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        snprintf(err, errlen, "drop capability %d from the bounding set: %s", cap, errname(errno));
        return -1;
      }
    } else if (!held) {
      snprintf(err, errlen, "capability %d is not in this node's bounding set", cap);
      return -1;
    } else {
      caps |= 1ULL << cap;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    snprintf(err, errlen, "clear ambient capabilities: %s", errname(errno));
    return -1;
  }
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    snprintf(err, errlen, "no_new_privs: %s", errname(errno));
    return -1;
  }
  // Before the capabilities go: without no_new_privs, installing a filter needs CAP_SYS_ADMIN.
  if (p->seccomp && install_seccomp(caps) < 0) {
    snprintf(err, errlen, "seccomp filter: %s", errname(errno));
    return -1;
  }
  if (uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    snprintf(err, errlen, "keep capabilities: %s", errname(errno));
    return -1;
  }
  if (setgroups(ngroups, groups) < 0) {
    snprintf(err, errlen, "setgroups: %s", errname(errno));
    return -1;
  }
  if (setresgid(gid, gid, gid) < 0) {
    snprintf(err, errlen, "setgid %u: %s", gid, errname(errno));
    return -1;
  }
  if (setresuid(uid, uid, uid) < 0) {
    snprintf(err, errlen, "setuid %u: %s", uid, errname(errno));
    return -1;
  }
  if (uid != 0) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (unsigned)caps;
  data[1].effective = data[1].permitted = (unsigned)(caps >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) {
    snprintf(err, errlen, "capset: %s", errname(errno));
    return -1;
  }
  return 0;
}

int drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, char *err, size_t errlen) {
  struct privileges p = {default_caps(), 1, 1};
  // "CAPS:NNP:SECCOMP" (hex, 0|1, 0|1): the container's own, from the runtime's record of it.
  const char *v = getenv("TSK_EXEC_PRIVILEGES");
  unsigned long long caps;
  int nnp, sec;
  if (v && sscanf(v, "%llx:%d:%d", &caps, &nnp, &sec) == 3) {
    p.caps = caps;
    p.no_new_privs = nnp != 0;
    p.seccomp = sec != 0;
  }
  return apply_privileges(uid, gid, groups, ngroups, &p, err, errlen);
}

// Opens (creating directories as needed) a path inside the rootfs without ever
// leaving it: symlinks are resolved as if rootfd were "/".
static int open_in_root(int rootfd, const char *path, int as_file, int errfd) {
  char prefix[4096] = "";
  size_t plen = 0;
  int cur = dup(rootfd);
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char comp[256];
    if (n >= sizeof comp || plen + n + 2 >= sizeof prefix) fail(errfd, "mount target %s: ENAMETOOLONG", path);
    memcpy(comp, p, n);
    comp[n] = 0;
    int last = !e || !e[strspn(e, "/")];
    if (last && as_file) {
      int fd = openat(cur, comp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    } else if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
      fail(errfd, "mkdir %s in rootfs: %s", path, errname(errno));
    }
    prefix[plen++] = '/';
    memcpy(prefix + plen, comp, n);
    plen += n;
    prefix[plen] = 0;
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    int next = syscall(SYS_openat2, rootfd, prefix, &how, sizeof how);
    if (next < 0) fail(errfd, "open %s in rootfs: %s", path, errname(errno));
    close(cur);
    cur = next;
    p += n;
  }
  return cur;
}

// Whether a volume's target lies inside /dev (and so is mounted after /dev is set up).
static int under_dev(const char *dst) {
  while (*dst == '/') dst++;
  if (strncmp(dst, "dev", 3) != 0) return 0;
  dst += 3;
  if (*dst != '/') return 0;
  while (*dst == '/') dst++;
  return *dst != 0;
}

static void bind_volumes(struct config *c, int rootfd, int in_dev, int errfd) {
  for (int i = 0; i < c->nbinds; i++) {
    struct bind *b = &c->binds[i];
    if (under_dev(b->dst) != in_dev) continue;
    struct stat st;
    if (stat(b->src, &st) < 0) fail(errfd, "volume %s: %s", b->src, errname(errno));
    int fd = open_in_root(rootfd, b->dst, !S_ISDIR(st.st_mode), errfd);
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    if (mount(b->src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
      fail(errfd, "bind %s on %s: %s", b->src, b->dst, errname(errno));
    close(fd);
    if (b->ro) {
      // The O_PATH fd still points below the new mount: open the mount's root again.
      fd = open_in_root(rootfd, b->dst, !S_ISDIR(st.st_mode), errfd);
      snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
      if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        fail(errfd, "remount %s read-only: %s", b->dst, errname(errno));
      close(fd);
    }
  }
}

// readOnlyRootFilesystem: the root mount itself becomes read-only, keeping its other
// flags; volumes, /dev, /proc and /sys are mounts of their own and stay as they are.
static void readonly_root(int errfd) {
  struct statvfs sv;
  if (statvfs("/", &sv) < 0) fail(errfd, "statvfs /: %s", errname(errno));
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (mount(NULL, "/", NULL, flags, NULL) < 0) fail(errfd, "remount / read-only: %s", errname(errno));
}

static void mount_or_fail(int errfd, const char *src, const char *dst, const char *type, unsigned long flags,
                          const char *data) {
  if (mount(src, dst, type, flags, data) < 0)
    fail(errfd, "mount %s on %s: %s", type ? type : src, dst, errname(errno));
}

// A privileged container sees the host's devices, as runc gives it the devices containerd
// lists from the host: every character and block device under /dev is made again (same
// numbers, mode and owner) in the container's /dev, except the kernel's own pseudo-terminal
// and shared-memory trees, which the container has its own instances of.
static void copy_host_devices(const char *host, const char *dst, int depth, int errfd) {
  DIR *d = opendir(host);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..")) continue;
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", host, n);
    snprintf(to, sizeof to, "%s/%s", dst, n);
    struct stat st;
    if (lstat(from, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth == 0 && (!strcmp(n, "pts") || !strcmp(n, "shm") || !strcmp(n, "mqueue") || !strcmp(n, "fd")))
        continue;
      if (depth < 8 && (mkdir(to, st.st_mode & 07777) == 0 || errno == EEXIST))
        copy_host_devices(from, to, depth + 1, errfd);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    if (depth == 0 && (!strcmp(n, "console") || !strcmp(n, "ptmx"))) continue;
    if (mknod(to, st.st_mode, st.st_rdev) < 0) {
      if (errno == EEXIST) continue;
      fail(errfd, "mknod /%s: %s", to, errname(errno));
    }
    if (chown(to, st.st_uid, st.st_gid) < 0) fail(errfd, "chown /%s: %s", to, errname(errno));
  }
  closedir(d);
}

static void setup_dev(int errfd, int privileged) {
  mount_or_fail(errfd, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  static const struct {
    const char *name;
    int major, minor;
  } devs[] = {{"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7},
              {"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
  mode_t old = umask(0);
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
    if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
      fail(errfd, "mknod /%s: %s", devs[i].name, errname(errno));
  umask(old);
  mkdir("dev/pts", 0755);
  mount_or_fail(errfd, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mkdir("dev/shm", 01777);
  mount_or_fail(errfd, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  if (symlink("pts/ptmx", "dev/ptmx") < 0 || symlink("/proc/self/fd", "dev/fd") < 0 ||
      symlink("/proc/self/fd/0", "dev/stdin") < 0 || symlink("/proc/self/fd/1", "dev/stdout") < 0 ||
      symlink("/proc/self/fd/2", "dev/stderr") < 0 || symlink("/proc/kcore", "dev/core") < 0)
    fail(errfd, "symlinks in /dev: %s", errname(errno));
  if (privileged) {
    old = umask(0);
    copy_host_devices("/dev", "dev", 0, errfd);
    umask(old);
  }
}

static const char *masked[] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                               "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                               "/sys/firmware", "/sys/devices/virtual/powercap"};
static const char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

static void mask_paths(int errfd) {
  struct stat st;
  for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
    if (stat(masked[i], &st) < 0) continue;
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0")
                                : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
    if (r < 0) fail(errfd, "mask %s: %s", masked[i], errname(errno));
  }
  for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
    if (stat(readonly[i], &st) < 0) continue;
    if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
      fail(errfd, "read-only %s: %s", readonly[i], errname(errno));
  }
}

// Opens a terminal on the container's devpts, makes it our controlling terminal
// and stdio, and sends the master to the monitor.
static void open_terminal(int sock, int errfd) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64];
  if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
    fail(errfd, "open /dev/ptmx: %s", errname(errno));
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) fail(errfd, "open %s: %s", name, errname(errno));
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) fail(errfd, "controlling terminal %s: %s", name, errname(errno));
  dup2(slave, 0);
  dup2(slave, 1);
  dup2(slave, 2);
  if (slave > 2) close(slave);
  char data = 't';
  char ctrl[CMSG_SPACE(sizeof(int))];
  memset(ctrl, 0, sizeof ctrl);
  struct iovec iov = {&data, 1};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctrl;
  mh.msg_controllen = sizeof ctrl;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &master, sizeof master);
  if (sendmsg(sock, &mh, 0) != 1) fail(errfd, "send terminal: %s", errname(errno));
  close(master);
  close(sock);
}

void container_init(struct config *c, int errfd, int syncfd, int cgfd) {
  char err[512];
  trace("child start");
  if (cgroups_v1(c->cgroups, c->ncgroups) && join_cgroups(c->cgroups, c->ncgroups, err, sizeof err) < 0)
    fail(errfd, "%s", err);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(errfd, "make / private: %s", errname(errno));
  if (!c->netns) loopback_up();
  trace("private, lo");

  if (c->overlay) mount_or_fail(errfd, "overlay", c->rootfs, "overlay", 0, c->overlay);
  else mount_or_fail(errfd, c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL);
  trace("overlay");
  if (chdir(c->rootfs) < 0) fail(errfd, "chdir %s: %s", c->rootfs, errname(errno));
  int rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail(errfd, "open rootfs: %s", errname(errno));

  // Volumes first, so that a volume at /dev or /proc cannot hide the system mounts;
  // those inside /dev (a termination log, /dev/shm) once the container's /dev exists.
  bind_volumes(c, rootfd, 0, errfd);
  mkdir("proc", 0555);
  mkdir("sys", 0555);
  mkdir("dev", 0755);
  mount_or_fail(errfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  // Read-only unless privileged (runc's default spec and its privileged variant).
  unsigned long ro = c->privileged ? 0 : MS_RDONLY;
  if (mount("sysfs", "sys", "sysfs", ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    // A joined network namespace that is not ours to show: bind the host's.
    mount_or_fail(errfd, "/sys", "sys", NULL, MS_BIND | MS_REC, NULL);
    if (ro) mount_or_fail(errfd, NULL, "sys", NULL, MS_BIND | MS_REMOUNT | ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }
  trace("proc sys");
  setup_dev(errfd, c->privileged);
  bind_volumes(c, rootfd, 1, errfd);
  trace("dev");

  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(errfd, "pivot_root %s: %s", c->rootfs, errname(errno));
  if (umount2(".", MNT_DETACH) < 0) fail(errfd, "detach old root: %s", errname(errno));
  if (chdir("/") < 0) fail(errfd, "chdir /: %s", errname(errno));
  close(rootfd);
  trace("pivot");
  if (!c->privileged) mask_paths(errfd);
  trace("masked");
  if (c->tty) open_terminal(c->ttysock, errfd);
  char joined;
  if (read(cgfd, &joined, 1) != 1) _exit(127);  // the monitor reports its own failure
  close(cgfd);
  trace("cgroups joined");
  if (unshare(CLONE_NEWCGROUP) < 0) fail(errfd, "unshare cgroup namespace: %s", errname(errno));

  if (c->hostname && !c->utsns && sethostname(c->hostname, strlen(c->hostname)) < 0)
    fail(errfd, "sethostname %s: %s", c->hostname, errname(errno));
  const char *cwd = c->cwd && c->cwd[0] ? c->cwd : "/";
  if (chdir(cwd) < 0) {
    if (errno != ENOENT || mkdir_p(cwd, 0755) < 0 || chdir(cwd) < 0)
      fail(errfd, "working directory %s: %s", cwd, errname(errno));
  }
  if (c->readonly_rootfs) readonly_root(errfd);
  struct privileges p = {c->has_caps ? c->caps : default_caps(), c->no_new_privs, !c->privileged};
  if (apply_privileges(c->uid, c->gid, c->groups, c->ngroups, &p, err, sizeof err) < 0) fail(errfd, "%s", err);

  trace("privileges");
  char ready = 1;
  if (write(errfd, &ready, 1) != 1) _exit(127);
  char go;
  if (read(syncfd, &go, 1) != 1) _exit(127);  // the monitor went away before start
  close(syncfd);
  c->env[c->nenv] = NULL;
  c->argv[c->nargv] = NULL;
  environ = (char **)c->env;
  execvp(c->argv[0], (char *const *)c->argv);
  fail(errfd, "exec %s: %s", c->argv[0], errname(errno));
}
