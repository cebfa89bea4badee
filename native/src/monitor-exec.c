// `tsk-monitor exec -p PID [-t] [-u UID] [-g GID] [-w CWD] [-c CGROUPDIR]... [-e K=V]... -- CMD [ARG...]`
// Enters the namespaces and cgroups of the container whose init is PID and runs
// CMD there with the container's privileges. Without -t the command inherits our
// stdio; with -t it gets a pseudo-terminal from the container's /dev/pts and we
// relay between it and our stdin/stdout. Terminal size: from our stdin when that is
// a terminal (and on SIGWINCH), or "resize ROWS COLS" lines on fd 3.
// Exit status: the command's, or 128+signal.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"

extern char **environ;

static int die(const char *fmt, const char *a, int e) {
  fprintf(stderr, "tsk-monitor exec: ");
  fprintf(stderr, fmt, a);
  fprintf(stderr, ": %s\n", errname(e));
  return 126;
}

int exec_main(int argc, char **argv) {
  int pid = 0, tty = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  const char *cwd = NULL;
  const char *cgroups[32];
  static const char *env[MAX_LIST + 1];
  int ncg = 0, nenv = 0, i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (i + 1 >= argc && strcmp(a, "-t")) return die("missing value for %s", a, EINVAL);
    if (!strcmp(a, "-p")) pid = atoi(argv[++i]);
    else if (!strcmp(a, "-t")) tty = 1;
    else if (!strcmp(a, "-u")) uid = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(a, "-g")) gid = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(a, "-w")) cwd = argv[++i];
    else if (!strcmp(a, "-c") && ncg < 32) cgroups[ncg++] = argv[++i];
    else if (!strcmp(a, "-e") && nenv < MAX_LIST) env[nenv++] = argv[++i];
    else return die("unknown flag %s", a, EINVAL);
  }
  if (pid <= 0 || i >= argc) return die("usage: %s", "exec -p PID [flags] -- CMD...", EINVAL);
  char **cmd = argv + i;

  static const struct {
    const char *name;
    int type;
  } nss[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
             {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
  int fds[6];
  char path[256], err[512];
  for (int k = 0; k < 6; k++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, nss[k].name);
    fds[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[k] < 0) return die("open %s", path, errno);
  }
  if (join_cgroups(cgroups, ncg, err, sizeof err) < 0) return die("%s", err, errno);
  for (int k = 0; k < 6; k++) {
    if (setns(fds[k], nss[k].type) < 0) return die("setns %s", nss[k].name, errno);
    close(fds[k]);
  }

  int master = -1, slave = -1;
  if (tty) {
    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    char name[64];
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
      return die("open %s", "/dev/ptmx", errno);
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return die("open %s", name, errno);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) return die("pipe%s", "", errno);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGWINCH);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

  pid_t child = fork();
  if (child < 0) return die("fork%s", "", errno);
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    close(errpipe[0]);
    if (tty) {
      setsid();
      ioctl(slave, TIOCSCTTY, 0);
      dup2(slave, 0);
      dup2(slave, 1);
      dup2(slave, 2);
    }
    if (fcntl(3, F_GETFD) >= 0 && errpipe[1] != 3) close(3);
    if (cwd && chdir(cwd) < 0) fail(errpipe[1], "chdir %s: %s", cwd, errname(errno));
    if (drop_privileges(uid, gid, &gid, 1, err, sizeof err) < 0) fail(errpipe[1], "%s", err);
    env[nenv] = NULL;
    environ = (char **)env;
    execvp(cmd[0], cmd);
    fail(errpipe[1], "exec %s: %s", cmd[0], errname(errno));
  }
  close(errpipe[1]);
  if (slave >= 0) close(slave);
  char ebuf[1100];
  ssize_t en = read(errpipe[0], ebuf, sizeof ebuf - 1);
  if (en > 1) {
    ebuf[en] = 0;
    fprintf(stderr, "tsk-monitor exec: %s\n", ebuf + 1);
  }
  close(errpipe[0]);

  int ctl = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  int in_open = tty, status = 0, done = 0;
  for (;;) {
    struct pollfd p[4] = {{sfd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {master, POLLIN, 0}, {ctl, POLLIN, 0}};
    if (done && master < 0) break;
    int r = poll(p, 4, done ? 100 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) break;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          if (waitpid(child, &status, WNOHANG) == child) done = 1;
        } else if (si.ssi_signo == SIGWINCH && master >= 0) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
        } else {
          kill(child, si.ssi_signo);
        }
      }
    }
    char buf[4096];
    if (p[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) in_open = 0;
      else if (write(master, buf, n) < 0) in_open = 0;
    }
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) {
        close(master);
        master = -1;
      } else if (write(1, buf, n) < 0) {
      }
    }
    if (p[3].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(ctl, buf, sizeof buf - 1);
      if (n <= 0) {
        ctl = -1;
      } else if (master >= 0) {
        buf[n] = 0;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
          struct winsize ws = {0};
          if (sscanf(line, "resize %hu %hu", &ws.ws_row, &ws.ws_col) == 2) ioctl(master, TIOCSWINSZ, &ws);
        }
      }
    }
    if (!tty && !done) continue;
  }
  if (!done) waitpid(child, &status, 0);
  if (en > 1) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
