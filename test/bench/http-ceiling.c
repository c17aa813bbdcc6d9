/*
 * A reference for `make bench BENCH=http`, not a competitor: the least any server can do per request on
 * this machine. One thread, epoll, no HTTP parsing: every request (counted by its blank line) gets a
 * response that was built at start, sent with one write(). It shows where the kernel and wrk leave the
 * ceiling, so a ratio that no server reaches here can be told apart from one labnet misses.
 *
 * usage: http-ceiling PORT DOCROOT   (serves DOCROOT/hello.txt, and DOCROOT/100k.bin for any path with "100k")
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

struct response { char *data; size_t len; };

static struct response build(const char *root, const char *name, const char *type, int closing) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, name);
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) { perror(path); exit(1); }
  char head[256];
  int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\n%s\r\n", type,
                    (long long)st.st_size, closing ? "Connection: close\r\n" : "");
  struct response r = { malloc(hl + st.st_size), hl + st.st_size };
  memcpy(r.data, head, hl);
  if (read(fd, r.data + hl, st.st_size) != st.st_size) { perror("read"); exit(1); }
  close(fd);
  return r;
}

/* Writes it all; a short write (a full send buffer) waits for the socket, which a 100 KB response on
 * loopback rarely needs. */
static int send_all(int fd, const struct response *r) {
  size_t off = 0;
  while (off < r->len) {
    ssize_t n = write(fd, r->data + off, r->len - off);
    if (n > 0) { off += n; continue; }
    if (n < 0 && errno == EAGAIN) { struct pollfd p = { fd, POLLOUT, 0 }; poll(&p, 1, 1000); continue; }
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s PORT DOCROOT\n", argv[0]); return 2; }
  struct response small = build(argv[2], "hello.txt", "text/plain", 0);
  struct response small_close = build(argv[2], "hello.txt", "text/plain", 1);
  struct response big = build(argv[2], "100k.bin", "application/octet-stream", 0);
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1024) != 0) { perror("listen"); return 1; }
  setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* accepted sockets inherit it */
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event events[256];
  char buf[16384];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf - 1);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) { close(fd); continue; }
      buf[r] = 0;
      /* One response per blank line; wrk sends one request at a time, each in one segment. */
      for (char *p = buf; (p = strstr(p, "\r\n\r\n")) != NULL; p += 4) {
        int closing = memmem(buf, r, "onnection: close", 16) != NULL;
        const struct response *out = memmem(buf, r, "100k", 4) ? &big : closing ? &small_close : &small;
        if (send_all(fd, out) != 0 || closing) { close(fd); break; }
      }
    }
  }
}
