// tsk-monitor: one small process per container (not Node). `tsk-monitor run DIR`
// creates the container described by DIR/config, waits for "start" on DIR/ctl,
// relays the container's stdout/stderr to the CRI log file, reaps it and records
// its exit in DIR/status. It runs in its own session so the agent can exit and
// come back. Also: `exec` (enter a running container) and `sandbox` (pod namespaces).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static const char *dir;
static int logfd = -1;
static char created_at[40], started_at[40];

static void now_rfc3339(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void json_str(char *out, size_t len, const char *s) {
  size_t o = 0;
  for (; *s && o + 8 < len; s++) {
    unsigned char ch = *s;
    if (ch == '"' || ch == '\\') {
      out[o++] = '\\';
      out[o++] = ch;
    } else if (ch < 0x20) {
      o += snprintf(out + o, len - o, "\\u%04x", ch);
    } else {
      out[o++] = ch;
    }
  }
  out[o] = 0;
}

// DIR/status, replaced atomically: what the runtime reads to learn the state.
static void write_status(const char *status, int pid, int exit_code, int sig, int oom, const char *error) {
  char buf[2048], errj[1100] = "", finished[40] = "";
  if (error) json_str(errj, sizeof errj, error);
  if (!strcmp(status, "exited")) now_rfc3339(finished, sizeof finished);
  int n = snprintf(buf, sizeof buf,
                   "{\"status\":\"%s\",\"pid\":%d,\"monitorPid\":%d,\"createdAt\":\"%s\",\"startedAt\":\"%s\","
                   "\"finishedAt\":\"%s\",\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"error\":\"%s\"}\n",
                   status, pid, (int)getpid(), created_at, started_at, finished, exit_code, sig,
                   oom ? "true" : "false", errj);
  char tmp[4096], path[4096];
  snprintf(tmp, sizeof tmp, "%s/.status.tmp", dir);
  snprintf(path, sizeof path, "%s/status", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, buf, n) != n) {
  }
  close(fd);
  rename(tmp, path);
}

// One stream's pending partial line. The buffer bounds memory: a longer line is
// written as "P" (partial) chunks, as containerd does.
struct stream {
  int fd;
  const char *name;
  size_t len;
  char buf[8192];
};

// Size-based rotation, as the kubelet does it: between two lines (never inside
// one), LOG.1 -> LOG.2 ..., the oldest beyond log_max_files is removed, LOG ->
// LOG.1 and a fresh LOG is opened. Readers following LOG notice the new inode,
// finish the renamed file and go on with the new one.
static const char *log_path;
static long long log_size, log_max_size;
static int log_max_files;

static void rotate_log(void) {
  size_t len = strlen(log_path) + 16;  // ".<number>": on the stack, sized to the path
  char from[len], to[len];
  int keep = log_max_files < 2 ? 2 : log_max_files;
  snprintf(to, sizeof to, "%s.%d", log_path, keep - 1);
  unlink(to);
  for (int i = keep - 2; i >= 1; i--) {
    snprintf(from, sizeof from, "%s.%d", log_path, i);
    snprintf(to, sizeof to, "%s.%d", log_path, i + 1);
    rename(from, to);
  }
  snprintf(to, sizeof to, "%s.1", log_path);
  if (rename(log_path, to) < 0) return;  // keep appending to the current file
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    rename(to, log_path);  // still the same file: readers see no change
    return;
  }
  close(logfd);
  logfd = fd;
  log_size = 0;
}

static void log_line(struct stream *s, const char *data, size_t len, char tag) {
  if (logfd < 0) return;
  char head[80];
  now_rfc3339(head, sizeof head);
  size_t h = strlen(head);
  h += snprintf(head + h, sizeof head - h, " %s %c ", s->name, tag);
  long long total = (long long)(h + len + 1);
  if (log_max_size > 0 && log_size > 0 && log_size + total > log_max_size) rotate_log();
  struct iovec iov[3] = {{head, h}, {(void *)data, len}, {"\n", 1}};
  ssize_t w = writev(logfd, iov, 3);
  if (w > 0) log_size += w;
}

static void stream_data(struct stream *s, const char *data, size_t len) {
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl ? (size_t)(nl - data) : len;
    if (s->len + take > sizeof s->buf) take = sizeof s->buf - s->len;
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    data += take;
    len -= take;
    if (len > 0 && *data == '\n' && s->len <= sizeof s->buf) {
      log_line(s, s->buf, s->len, 'F');
      s->len = 0;
      data++;
      len--;
    } else if (s->len == sizeof s->buf) {
      log_line(s, s->buf, s->len, 'P');
      s->len = 0;
    }
  }
}

// Returns 0 at EOF or error (stream closed), 1 when more may come.
static int stream_read(struct stream *s) {
  char chunk[4096];
  ssize_t n = read(s->fd, chunk, sizeof chunk);
  if (n > 0) {
    stream_data(s, chunk, n);
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
  if (s->len) log_line(s, s->buf, s->len, 'F');
  s->len = 0;
  close(s->fd);
  s->fd = -1;
  return 0;
}

static int oom_killed(const char *path) {
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strstr(buf, "oom_kill ");
  return p && atol(p + 9) > 0;
}

static void notify(int fd, const char *msg) {
  if (fd < 0) return;
  if (write(fd, msg, strlen(msg)) < 0) {
  }
  close(fd);
}

static int recv_fd(int sock) {
  char data;
  char ctrl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&data, 1};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctrl;
  mh.msg_controllen = sizeof ctrl;
  if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

static int join_ns(const char *path, int type, char *err, size_t len) {
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, type) < 0) {
    snprintf(err, len, "join namespace %s: %s", path, errname(errno));
    return -1;
  }
  close(fd);
  return 0;
}

static int run_main(const char *d) {
  dir = d;
  // Detach from whoever started us (double fork): the parent returns at once and
  // the monitor is re-parented, so the agent never has to reap it.
  trace("monitor start");
  pid_t daemon = fork();
  if (daemon < 0) return 1;
  if (daemon > 0) _exit(0);
  setsid();
  trace("forked");
  int notifyfd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (notifyfd >= 0) fcntl(notifyfd, F_SETFD, FD_CLOEXEC);
  now_rfc3339(created_at, sizeof created_at);
  char path[4096], msg[1200], err[1024];
  struct config c;
  snprintf(path, sizeof path, "%s/config", dir);
  if (read_config(path, &c) < 0) {
    snprintf(msg, sizeof msg, "error read config %s: %s\n", path, errname(errno));
    notify(notifyfd, msg);
    return 1;
  }
  trace("config read");
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);

  snprintf(path, sizeof path, "%s/ctl", dir);
  if (mkfifo(path, 0600) < 0 && errno != EEXIST) {
    snprintf(msg, sizeof msg, "error mkfifo %s: %s\n", path, errname(errno));
    notify(notifyfd, msg);
    return 1;
  }
  trace("fifo made");
  int ctlfd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  int stdinfd = -1;
  if (c.stdin_open) {
    snprintf(path, sizeof path, "%s/stdin", dir);
    if (mkfifo(path, 0600) == 0 || errno == EEXIST) stdinfd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  }
  if (c.log) logfd = open(c.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (logfd >= 0) {
    struct stat lst;
    log_size = fstat(logfd, &lst) == 0 ? lst.st_size : 0;
    log_path = c.log;
    log_max_size = c.log_max_size;
    log_max_files = c.log_max_files;
  }
  if (ctlfd < 0 || (c.log && logfd < 0) || (c.stdin_open && stdinfd < 0)) {
    snprintf(msg, sizeof msg, "error open %s files: %s\n", dir, errname(errno));
    notify(notifyfd, msg);
    return 1;
  }

  trace("files open");
  int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, syncp[2], errpipe[2];
  int master = -1, ttysock[2] = {-1, -1};
  if (c.tty) {
    // The terminal comes from the container's own devpts (the child opens it and
    // hands us the master), so `tty` inside names a /dev/pts entry that exists there.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttysock) < 0) {
      snprintf(msg, sizeof msg, "error socketpair: %s\n", errname(errno));
      notify(notifyfd, msg);
      return 1;
    }
    c.ttysock = ttysock[1];
  } else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
             (c.stdin_open && pipe2(in, O_CLOEXEC) < 0)) {
    notify(notifyfd, "error pipe: EMFILE\n");
    return 1;
  }
  int cgp[2];
  if (pipe2(syncp, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0 || pipe2(cgp, O_CLOEXEC) < 0) {
    notify(notifyfd, "error pipe: EMFILE\n");
    return 1;
  }
  if (join_ns(c.netns, CLONE_NEWNET, err, sizeof err) < 0 || join_ns(c.ipcns, CLONE_NEWIPC, err, sizeof err) < 0 ||
      join_ns(c.utsns, CLONE_NEWUTS, err, sizeof err) < 0) {
    snprintf(msg, sizeof msg, "error %s\n", err);
    notify(notifyfd, msg);
    return 1;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  trace("before clone");
  long flags = SIGCHLD | CLONE_NEWPID | CLONE_NEWNS;
  if (!c.netns) flags |= CLONE_NEWNET;
  if (!c.ipcns) flags |= CLONE_NEWIPC;
  if (!c.utsns) flags |= CLONE_NEWUTS;
  pid_t pid = syscall(SYS_clone, flags, 0, 0, 0, 0);
  if (pid < 0) {
    snprintf(msg, sizeof msg, "error clone: %s\n", errname(errno));
    notify(notifyfd, msg);
    return 1;
  }
  if (pid == 0) {
    if (notifyfd >= 0) close(notifyfd);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (c.tty) {
      close(ttysock[0]);
    } else {
      int nul = open("/dev/null", O_RDWR);
      dup2(c.stdin_open ? in[0] : nul, 0);
      dup2(out[1], 1);
      dup2(errp[1], 2);
    }
    close(cgp[1]);
    container_init(&c, errpipe[1], syncp[0], cgp[0]);
  }
  close(cgp[0]);
  if (!cgroups_v1(c.cgroups, c.ncgroups) && move_to_cgroups(c.cgroups, c.ncgroups, pid, err, sizeof err) < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(msg, sizeof msg, "error %s\n", err);
    notify(notifyfd, msg);
    return 1;
  }
  trace("moved to cgroups");
  if (write(cgp[1], "1", 1) != 1) {
  }
  close(cgp[1]);
  close(syncp[0]);
  close(errpipe[1]);
  if (ttysock[1] >= 0) close(ttysock[1]);
  if (out[1] >= 0) close(out[1]);
  if (errp[1] >= 0) close(errp[1]);
  if (in[0] >= 0) close(in[0]);

  char buf[1100];
  ssize_t n = read(errpipe[0], buf, sizeof buf - 1);
  if (n != 1 || buf[0] != 1) {
    buf[n > 0 ? n : 0] = 0;
    snprintf(msg, sizeof msg, "error %s\n", n > 1 ? buf + 1 : "container set-up failed");
    waitpid(pid, NULL, 0);
    notify(notifyfd, msg);
    return 1;
  }
  trace("child ready");
  if (c.tty) {
    master = recv_fd(ttysock[0]);
    close(ttysock[0]);
    if (master < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      notify(notifyfd, "error receive the container's terminal\n");
      return 1;
    }
  }
  write_status("created", pid, 0, 0, 0, NULL);
  snprintf(msg, sizeof msg, "ok %d\n", pid);
  notify(notifyfd, msg);
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  if (chdir("/") < 0) {
  }

  static struct stream so, se;
  so.fd = c.tty ? master : out[0];
  so.name = "stdout";
  se.fd = c.tty ? -1 : errp[0];
  se.name = "stderr";
  int stdin_target = c.tty ? master : in[1];
  // Input waiting for a container that is not reading: held here (and the fifo is
  // not read meanwhile) so the monitor never blocks on it and logs keep flowing.
  static char pend[4096];
  size_t plen = 0, poff = 0;
  int closing_stdin = 0;
  if (stdin_target >= 0) fcntl(stdin_target, F_SETFL, fcntl(stdin_target, F_GETFL) | O_NONBLOCK);
  int started = 0, exited = 0, status = 0;
  char exec_error[1100] = "";
  for (;;) {
    struct pollfd fds[7] = {{sfd, POLLIN, 0},
                            {ctlfd, POLLIN, 0},
                            {so.fd, POLLIN, 0},
                            {se.fd, POLLIN, 0},
                            {started && plen == 0 ? stdinfd : -1, POLLIN, 0},
                            {started == 1 ? errpipe[0] : -1, POLLIN, 0},
                            {plen > 0 ? stdin_target : -1, POLLOUT, 0}};
    if (exited && so.fd < 0 && se.fd < 0) break;
    int timeout = exited ? 200 : -1;  // after the init exits, drain what its children left briefly
    int r = poll(fds, 7, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && exited) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        if (w == pid) {
          exited = 1;
          status = st;
        }
    }
    if (fds[1].revents & POLLIN) {
      char cmd[256];
      ssize_t m = read(ctlfd, cmd, sizeof cmd - 1);
      if (m > 0) {
        cmd[m] = 0;
        for (char *line = strtok(cmd, "\n"); line; line = strtok(NULL, "\n")) {
          if (!strcmp(line, "start") && !started) {
            char go = 1;
            if (write(syncp[1], &go, 1) != 1) {
            }
            close(syncp[1]);
            started = 1;
          } else if (!strncmp(line, "resize ", 7) && master >= 0) {
            struct winsize ws = {0};
            ws.ws_row = atoi(line + 7);
            char *sp = strchr(line + 7, ' ');
            ws.ws_col = sp ? atoi(sp + 1) : 80;
            ioctl(master, TIOCSWINSZ, &ws);
          } else if (!strcmp(line, "close-stdin") && in[1] >= 0) {
            closing_stdin = 1;  // closed below once the fifo and pend are drained
          }
        }
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) stream_read(&so);
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) stream_read(&se);
    if (fds[4].revents & POLLIN) {
      ssize_t m = read(stdinfd, pend, sizeof pend);
      if (m > 0 && stdin_target >= 0) {
        plen = m;
        poff = 0;
      }
    }
    if (plen > 0 && stdin_target >= 0 && (fds[4].revents & POLLIN || fds[6].revents & (POLLOUT | POLLERR))) {
      ssize_t w = write(stdin_target, pend + poff, plen - poff);
      if (w > 0) poff += w;
      if (poff >= plen || (w < 0 && errno != EAGAIN)) plen = poff = 0;  // done, or the reader is gone
    }
    if (closing_stdin && plen == 0) {
      // What the writer put in the fifo before asking to close still goes first.
      ssize_t m = read(stdinfd, pend, sizeof pend);
      if (m > 0) {
        plen = m;
        poff = 0;
        ssize_t w = write(stdin_target, pend, plen);
        if (w > 0) poff = w;
        if (poff >= plen || (w < 0 && errno != EAGAIN)) plen = poff = 0;
      } else {
        close(in[1]);
        in[1] = stdin_target = -1;
        closing_stdin = 0;
      }
    }
    if (fds[5].revents & (POLLIN | POLLHUP)) {
      ssize_t m = read(errpipe[0], buf, sizeof buf - 1);
      if (m > 1 && buf[0] == 'E') {
        buf[m] = 0;
        snprintf(exec_error, sizeof exec_error, "%s", buf + 1);
      } else {
        now_rfc3339(started_at, sizeof started_at);
        write_status("running", pid, 0, 0, 0, NULL);
      }
      close(errpipe[0]);
      started = 2;
    }
  }
  if (started == 1) {
    // The exec result is still in the pipe when the child dies right away.
    ssize_t m = read(errpipe[0], buf, sizeof buf - 1);
    if (m > 1 && buf[0] == 'E') {
      buf[m] = 0;
      snprintf(exec_error, sizeof exec_error, "%s", buf + 1);
    }
    if (!started_at[0] && !exec_error[0]) now_rfc3339(started_at, sizeof started_at);
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  int oom = sig == SIGKILL && oom_killed(c.oom);
  write_status("exited", pid, code, sig, oom, exec_error[0] ? exec_error : NULL);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "run")) return run_main(argv[2]);
  if (argc >= 2 && !strcmp(argv[1], "exec")) return exec_main(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "sandbox")) return sandbox_main(argc - 1, argv + 1);
  fprintf(stderr, "usage: tsk-monitor run DIR | exec ... | sandbox ...\n");
  return 2;
}
