/* Accepts one connection on the socket the host preopened (fd 3), reads until
 * the peer stops writing, sends the bytes back upper-cased, shuts down. */
#include <ctype.h>
#include "raw.h"

int main(void) {
  I conn = -1;
  int e = raw_sock_accept(3, 0, P(&conn));
  out_kv("accept", e);
  if (e) return 1;
  static char buf[4096];
  size_t total = 0;
  for (;;) {
    __wasi_iovec_t iov = {(uint8_t *)buf + total, sizeof buf - total};
    I n = 0;
    uint16_t flags = 0;
    e = raw_sock_recv(conn, P(&iov), 1, 0, P(&n), P(&flags));
    if (e || n == 0) break;
    total += (size_t)n;
  }
  out_kv("received", (int64_t)total);
  for (size_t i = 0; i < total; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
  size_t sent = 0;
  while (sent < total) {
    __wasi_ciovec_t iov = {(const uint8_t *)buf + sent, total - sent};
    I n = 0;
    if (raw_sock_send(conn, P(&iov), 1, 0, P(&n))) break;
    sent += (size_t)n;
  }
  out_kv("sent", (int64_t)sent);
  out_kv("shutdown", raw_sock_shutdown(conn, 3));
  out_kv("close", raw_fd_close(conn));
  return 0;
}
