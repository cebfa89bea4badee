// `tsk-monitor sandbox DIR HOSTNAME`: creates a pod's network, IPC and UTS
// namespaces and keeps them without any process, by bind-mounting the namespace
// files onto DIR/net, DIR/ipc and DIR/uts (which must exist as empty files).
// Releasing them is an unmount of those files.
// Started by the runtime through spawnReport, it answers on fd 3 with "ok" or
// "error MESSAGE" (one line); run by hand, errors go to stderr.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"

// The outcome line on fd 3 when the runtime listens there (spawnReport), else stderr.
static int answer(int rc, const char *msg) {
  if (fcntl(3, F_GETFD) >= 0) {
    if (rc == 0)
      dprintf(3, "ok\n");
    else
      dprintf(3, "error %s\n", msg);
  } else if (rc != 0) {
    fprintf(stderr, "%s\n", msg);
  }
  return rc;
}

int sandbox_main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tsk-monitor sandbox DIR HOSTNAME\n");
    return 2;
  }
  const char *dir = argv[1], *hostname = argv[2];
  char msg[4200] = "";
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
    snprintf(msg, sizeof msg, "pipe: %s", errname(errno));
    return answer(1, msg);
  }
  pid_t pid = syscall(SYS_clone, SIGCHLD | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, 0, 0, 0, 0);
  if (pid < 0) {
    snprintf(msg, sizeof msg, "clone: %s", errname(errno));
    return answer(1, msg);
  }
  if (pid == 0) {
    close(ready[0]);
    close(hold[1]);
    char ok = sethostname(hostname, strlen(hostname)) == 0 ? 1 : 0;
    loopback_up();
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    char x;
    if (read(hold[0], &x, 1) < 0) _exit(1);  // EOF when the parent is done
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  char ok = 0;
  int rc = 0;
  if (read(ready[0], &ok, 1) != 1 || !ok) {
    snprintf(msg, sizeof msg, "sethostname %s: failed", hostname);
    rc = 1;
  }
  static const char *names[] = {"net", "ipc", "uts"};
  for (int i = 0; i < 3 && rc == 0; i++) {
    char src[64], dst[4096];
    snprintf(src, sizeof src, "/proc/%d/ns/%s", pid, names[i]);
    snprintf(dst, sizeof dst, "%s/%s", dir, names[i]);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
      snprintf(msg, sizeof msg, "mount %s on %s: %s", src, dst, errname(errno));
      for (int j = 0; j < i; j++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, names[j]);
        umount2(dst, MNT_DETACH);
      }
      rc = 1;
    }
  }
  close(hold[1]);
  waitpid(pid, NULL, 0);
  return answer(rc, msg);
}
