// Shared pieces of tsk-monitor: the container description read from the bundle's
// `config` file and the set-up steps that run inside the new namespaces.
#ifndef TSK_MONITOR_H
#define TSK_MONITOR_H

#include <stddef.h>
#include <sys/types.h>

#define MAX_LIST 256

struct bind {
  const char *src, *dst;
  int ro;
};

struct config {
  char *buf;  // the whole file; every string below points into it
  const char *rootfs, *overlay, *hostname, *cwd, *log, *oom, *netns, *ipcns, *utsns;
  const char *argv[MAX_LIST + 1];
  const char *env[MAX_LIST + 1];
  const char *cgroups[32];
  struct bind binds[64];
  gid_t groups[32];
  int nargv, nenv, ncgroups, nbinds, ngroups;
  uid_t uid;
  gid_t gid;
  int tty, stdin_open;
  int ttysock;  // runtime only: where the child sends its terminal's master fd
  // Log rotation: when `log` would grow past log_max_size bytes it becomes log.1
  // (log.1 -> log.2 ...), keeping log_max_files files in all. 0: never rotate.
  long long log_max_size;
  int log_max_files;
  // Security: the capability set (bit N = capability N; has_caps 0: Docker's default),
  // privileged (host devices, writable /sys, unmasked /proc, no seccomp filter), a
  // read-only rootfs, and no_new_privs (Kubernetes allowPrivilegeEscalation: false).
  unsigned long long caps;
  int has_caps, privileged, readonly_rootfs, no_new_privs;
};

int read_config(const char *path, struct config *c);

// Runs in the cloned child: everything between clone and exec. Reports failure
// as "E<message>" on errfd and exits; on success writes one byte "\1" to errfd,
// waits for one byte on syncfd, then execs (errfd is close-on-exec).
// cgfd delivers one byte once the monitor has moved the child into its cgroups
// (done in parallel with the mounts: a cgroup v1 move waits for an RCU grace period).
void container_init(struct config *c, int errfd, int syncfd, int cgfd) __attribute__((noreturn));

// Joins the cgroups (writes 0 to each cgroup.procs).
int join_cgroups(const char *const *dirs, int n, char *err, size_t errlen);
// Whether the cgroup dirs are v1 hierarchies (with a "tasks" file).
int cgroups_v1(const char *const *dirs, int n);
// Moves process pid (0: the caller) into the cgroups.
int move_to_cgroups(const char *const *dirs, int n, int pid, char *err, size_t errlen);
// What a container's processes may do: capabilities (bit N = capability N), whether
// no_new_privs is set and whether the seccomp filter is installed.
struct privileges {
  unsigned long long caps;
  int no_new_privs, seccomp;
};
// Docker's (and containerd's) default capability set.
unsigned long long default_caps(void);
// In runc's order: bounding set, no_new_privs, seccomp filter (while CAP_SYS_ADMIN is
// still held, so it needs no no_new_privs), groups and uid/gid keeping the permitted set,
// then effective = permitted = caps; inheritable and ambient empty (as containerd does:
// a non-root user keeps the bounding set, and gains capabilities only through file caps).
int apply_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, const struct privileges *p, char *err,
                     size_t errlen);
// For exec: the container's privileges, which the runtime passes in the environment as
// TSK_EXEC_PRIVILEGES=CAPS:NNP:SECCOMP (not from inside the container, which could fake
// them); without it Docker's default capabilities with no_new_privs and the seccomp filter.
int drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, char *err, size_t errlen);
int mkdir_p(const char *path, mode_t mode);
// Docker-like seccomp deny list (seccomp.c): what `caps` grants (mount with CAP_SYS_ADMIN,
// reboot with CAP_SYS_BOOT ...) stays allowed, as in Docker's default profile. Needs
// no_new_privs or CAP_SYS_ADMIN.
int install_seccomp(unsigned long long caps);
void loopback_up(void);
void fail(int fd, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
const char *errname(int e);

int exec_main(int argc, char **argv);
// Development aid: with TSK_MONITOR_TRACE=FILE set, set-up steps append timings there.
void trace(const char *what);
int sandbox_main(int argc, char **argv);

#endif
