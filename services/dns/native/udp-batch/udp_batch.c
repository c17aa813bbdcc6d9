/*
 * The lab DNS's UDP transport: many datagrams per system call and one call into JavaScript per batch.
 *
 * Why: with node:dgram every datagram costs a 64 KiB allocation, an address formatted into a string
 * and a rinfo object, and a separate call into JavaScript, on top of one recvmsg and one sendmsg.
 * Measured with dnsperf, labnet's DNS on dgram reached about 0.6 of dnsmasq's queries per second while
 * its own answering code was about 5% of its CPU time. Here one readiness event reads up to `slots`
 * queries with recvmmsg(2) into a buffer shared with JavaScript, JavaScript answers them all in one
 * call (writing into a second shared buffer), and sendmmsg(2) sends the answers back. The protocol is
 * all in TypeScript (services/dns/); this file only moves octets. Node-API and libuv's uv_poll_t are
 * documented APIs; services/dns/udp-transport.ts falls back to node:dgram when this is not built.
 *
 * API (Node-API, C, ABI stable):
 *   bind(family 4|6, address, port) -> { fd, port }      throws { code: 'EADDRINUSE', errno } on failure
 *   start(fd, inBuf, inLen, addrBuf, outBuf, outLen, slots, slotSize, outSlotSize, onBatch) -> handle
 *        onBatch(n): queries are in inBuf slots 0..n-1 (inLen[i] octets, -1 if cut short), their
 *        senders in addrBuf (20 octets each: family, 0, port (2, big-endian), address (16)); the
 *        callback writes answers into outBuf slots and their lengths in outLen (0: send nothing).
 *   stop(handle)                                          closes the socket
 *   stats(handle) -> { received, sent, sendErrors, truncated }
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SLOTS 256
#define ADDR_BYTES 20
/* Batches read per readiness event before the event loop gets control back. */
#define MAX_ROUNDS 8

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int closing;
  napi_ref refs[6]; /* callback, inBuf, inLen, addrBuf, outBuf, outLen: kept alive while running */
  napi_ref resource;
  napi_async_context async;
  uint8_t *in, *addr, *out;
  int32_t *in_len, *out_len;
  int slots, slot_size, out_slot_size;
  struct mmsghdr rmsg[MAX_SLOTS];
  struct iovec riov[MAX_SLOTS];
  struct sockaddr_storage rsa[MAX_SLOTS];
  struct mmsghdr smsg[MAX_SLOTS];
  struct iovec siov[MAX_SLOTS];
  double received, sent, send_errors, truncated;
} batch_t;

static const char *errno_code(int err) {
  switch (err) {
    case EADDRINUSE: return "EADDRINUSE";
    case EACCES: return "EACCES";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    default: return "ESYSCALL";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error, num;
  napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value bind_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t family = 0, port = -1;
  char address[64];
  size_t len = 0;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6) ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &len) != napi_ok || napi_get_value_int32(env, argv[2], &port) != napi_ok ||
      port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "bind(family, address, port): family 4 or 6, an address, a port");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    sl = sizeof *a;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1 << 20, off = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  int bound = ntohs(family == 4 ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_int32(env, fd, &v);
  napi_set_named_property(env, out, "fd", v);
  napi_create_int32(env, bound, &v);
  napi_set_named_property(env, out, "port", v);
  return out;
}

static void write_addr(uint8_t *slot, const struct sockaddr_storage *ss) {
  memset(slot, 0, ADDR_BYTES);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    slot[0] = 4;
    memcpy(slot + 2, &a->sin_port, 2);
    memcpy(slot + 4, &a->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    slot[0] = 6;
    memcpy(slot + 2, &a->sin6_port, 2);
    memcpy(slot + 4, &a->sin6_addr, 16);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  batch_t *b = (batch_t *)handle->data;
  (void)events;
  if (status < 0 || b->closing) return;
  napi_env env = b->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  for (int round = 0; round < MAX_ROUNDS && !b->closing; round++) {
    for (int i = 0; i < b->slots; i++) {
      b->riov[i].iov_base = b->in + (size_t)i * b->slot_size;
      b->riov[i].iov_len = b->slot_size;
      memset(&b->rmsg[i].msg_hdr, 0, sizeof b->rmsg[i].msg_hdr);
      b->rmsg[i].msg_hdr.msg_name = &b->rsa[i];
      b->rmsg[i].msg_hdr.msg_namelen = sizeof b->rsa[i];
      b->rmsg[i].msg_hdr.msg_iov = &b->riov[i];
      b->rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(b->fd, b->rmsg, b->slots, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    b->received += n;
    for (int i = 0; i < n; i++) {
      int cut = (b->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (cut) b->truncated++;
      b->in_len[i] = cut ? -1 : (int32_t)b->rmsg[i].msg_len;
      b->out_len[i] = 0;
      write_addr(b->addr + (size_t)i * ADDR_BYTES, &b->rsa[i]);
    }
    napi_value cb, recv, arg, result;
    napi_get_reference_value(env, b->refs[0], &cb);
    /* napi_make_callback wants an object as the receiver. */
    napi_get_reference_value(env, b->resource, &recv);
    napi_create_int32(env, n, &arg);
    if (napi_make_callback(env, b->async, recv, cb, 1, &arg, &result) != napi_ok) {
      /* The JavaScript side catches its own errors; if one still escapes, this batch is lost, not the process. */
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value e;
        napi_get_and_clear_last_exception(env, &e);
      }
      continue;
    }
    if (b->closing) break;
    int m = 0;
    for (int i = 0; i < n; i++) {
      int32_t len = b->out_len[i];
      if (len <= 0 || len > b->out_slot_size) continue;
      b->siov[m].iov_base = b->out + (size_t)i * b->out_slot_size;
      b->siov[m].iov_len = (size_t)len;
      memset(&b->smsg[m].msg_hdr, 0, sizeof b->smsg[m].msg_hdr);
      b->smsg[m].msg_hdr.msg_name = &b->rsa[i];
      b->smsg[m].msg_hdr.msg_namelen = b->rmsg[i].msg_hdr.msg_namelen;
      b->smsg[m].msg_hdr.msg_iov = &b->siov[m];
      b->smsg[m].msg_hdr.msg_iovlen = 1;
      m++;
    }
    for (int done = 0; done < m;) {
      int r = sendmmsg(b->fd, b->smsg + done, (unsigned)(m - done), MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        b->sent += r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        /* This answer cannot go (full buffer, unreachable sender): skip it, send the rest. */
        done++;
        b->send_errors++;
      }
    }
    if (n < b->slots) break;
  }
  napi_close_handle_scope(env, scope);
}

static int typed_data(napi_env env, napi_value v, void **data, size_t *bytes) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (is_buffer) return napi_get_buffer_info(env, v, data, bytes) == napi_ok;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return 0;
  napi_typedarray_type type;
  size_t length;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok || type != napi_int32_array) return 0;
  *bytes = length * 4;
  return 1;
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, slots, slot_size, out_slot_size;
  void *in, *in_len, *addr, *out, *out_len;
  size_t in_b, in_len_b, addr_b, out_b, out_len_b;
  napi_valuetype cbt = napi_undefined;
  if (argc == 10) napi_typeof(env, argv[9], &cbt);
  if (argc < 10 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[6], &slots) != napi_ok ||
      napi_get_value_int32(env, argv[7], &slot_size) != napi_ok || napi_get_value_int32(env, argv[8], &out_slot_size) != napi_ok || cbt != napi_function ||
      slots < 1 || slots > MAX_SLOTS || slot_size < 512 || out_slot_size < 512 || !typed_data(env, argv[1], &in, &in_b) ||
      !typed_data(env, argv[2], &in_len, &in_len_b) || !typed_data(env, argv[3], &addr, &addr_b) || !typed_data(env, argv[4], &out, &out_b) ||
      !typed_data(env, argv[5], &out_len, &out_len_b) || in_b < (size_t)slots * slot_size || in_len_b < (size_t)slots * 4 ||
      addr_b < (size_t)slots * ADDR_BYTES || out_b < (size_t)slots * out_slot_size || out_len_b < (size_t)slots * 4) {
    napi_throw_type_error(env, NULL, "start(fd, inBuf, inLen, addrBuf, outBuf, outLen, slots, slotSize, outSlotSize, onBatch): buffers too small or bad arguments");
    return NULL;
  }
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return throw_errno(env, "calloc", ENOMEM);
  b->env = env;
  b->fd = fd;
  b->slots = slots;
  b->slot_size = slot_size;
  b->out_slot_size = out_slot_size;
  b->in = in;
  b->in_len = in_len;
  b->addr = addr;
  b->out = out;
  b->out_len = out_len;
  napi_create_reference(env, argv[9], 1, &b->refs[0]);
  for (int i = 1; i < 6; i++) napi_create_reference(env, argv[i], 1, &b->refs[i]);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &b->resource);
  napi_create_string_utf8(env, "labnet.dns.udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &b->async);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int err = uv_poll_init(loop, &b->poll, fd);
  if (err == 0) {
    b->poll.data = b;
    err = uv_poll_start(&b->poll, UV_READABLE, on_poll);
  }
  if (err != 0) {
    free(b);
    napi_throw_error(env, "EPOLL", uv_strerror(err));
    return NULL;
  }
  napi_value ext;
  napi_create_external(env, b, NULL, NULL, &ext);
  return ext;
}

static void on_close(uv_handle_t *handle) {
  batch_t *b = (batch_t *)handle->data;
  close(b->fd);
  for (int i = 0; i < 6; i++) napi_delete_reference(b->env, b->refs[i]);
  napi_async_destroy(b->env, b->async);
  napi_delete_reference(b->env, b->resource);
  free(b);
}

static batch_t *handle_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a handle from start()");
    return NULL;
  }
  return (batch_t *)data;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  batch_t *b = handle_of(env, info);
  if (!b || b->closing) return NULL;
  b->closing = 1;
  uv_poll_stop(&b->poll);
  uv_close((uv_handle_t *)&b->poll, on_close);
  return NULL;
}

static napi_value stats(napi_env env, napi_callback_info info) {
  batch_t *b = handle_of(env, info);
  if (!b) return NULL;
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_double(env, b->received, &v);
  napi_set_named_property(env, out, "received", v);
  napi_create_double(env, b->sent, &v);
  napi_set_named_property(env, out, "sent", v);
  napi_create_double(env, b->send_errors, &v);
  napi_set_named_property(env, out, "sendErrors", v);
  napi_create_double(env, b->truncated, &v);
  napi_set_named_property(env, out, "truncated", v);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"bind", NULL, bind_socket, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
    {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
