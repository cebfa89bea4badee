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
// Bounding set, groups, uid/gid, Docker's default capabilities, no_new_privs.
int drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, char *err, size_t errlen);
int mkdir_p(const char *path, mode_t mode);
// Docker-like seccomp deny list (seccomp.c); needs no_new_privs first.
int install_seccomp(void);
void loopback_up(void);
void fail(int fd, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
const char *errname(int e);

int exec_main(int argc, char **argv);
// Development aid: with TSK_MONITOR_TRACE=FILE set, set-up steps append timings there.
void trace(const char *what);
int sandbox_main(int argc, char **argv);
// port-forward: relays stdin/stdout to 127.0.0.1:PORT inside a network namespace.
int connect_main(int argc, char **argv);

#endif
