// `tsk-monitor connect NETNS PORT`: enters the network namespace bound at NETNS,
// connects to 127.0.0.1:PORT there and relays the connection over stdin/stdout
// (kubectl port-forward). stdin's EOF half-closes the socket; the socket's EOF
// closes stdout. A failed connect prints Go's wording ("dial tcp4 127.0.0.1:8080:
// connect: connection refused") on stderr and exits 1, so kubectl shows what users
// know from real clusters.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor.h"

static int write_all(int fd, const char *p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= w;
  }
  return 0;
}

int connect_main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: tsk-monitor connect NETNS PORT\n");
    return 2;
  }
  char *end;
  long port = strtol(argv[2], &end, 10);
  if (*end || port < 1 || port > 65535) {
    fprintf(stderr, "invalid port %s\n", argv[2]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    fprintf(stderr, "entering network namespace %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  close(ns);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    fprintf(stderr, "socket: %s\n", strerror(errno));
    return 1;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    // strerror's "Connection refused" lower-cased, as Go's syscall errors read.
    char msg[128];
    snprintf(msg, sizeof msg, "%s", strerror(errno));
    if (msg[0] >= 'A' && msg[0] <= 'Z') msg[0] += 'a' - 'A';
    fprintf(stderr, "dial tcp4 127.0.0.1:%ld: connect: %s\n", port, msg);
    return 1;
  }
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int in_open = 1, sock_open = 1;
  static char buf[65536];
  while (sock_open) {
    struct pollfd p[2] = {{in_open ? 0 : -1, POLLIN, 0}, {s, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = 0;
        shutdown(s, SHUT_WR);
      } else if (write_all(s, buf, n) < 0) {
        break;
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) sock_open = 0;
      else if (write_all(1, buf, n) < 0) break;
    }
  }
  close(s);
  close(1);
  return 0;
}
