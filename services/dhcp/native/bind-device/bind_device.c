/*
 * labnet's one native piece: SO_BINDTODEVICE for an already bound dgram socket.
 *
 * Why: a UDP socket on 0.0.0.0:67 receives the DHCP broadcasts of every interface, and Node cannot
 * tell which interface a datagram came in on (no IP_PKTINFO in dgram). A DHCP server on a lab
 * machine that is also on the school network must answer only the lab interface, so the receiving
 * socket is tied to that interface with setsockopt(SO_BINDTODEVICE); the kernel then delivers only
 * datagrams that arrived on it (socket(7)). Needs CAP_NET_RAW (root), like serving port 67 does.
 *
 * Node-API (C, ABI stable): bindToDevice(fd, ifname) and boundDevice(fd) -> string ("" when unbound).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM ? "EPERM" : err == ENODEV ? "ENODEV" : "ESYSCALL", msg);
  return NULL;
}

static int read_fd(napi_env env, napi_value v, int32_t *fd) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, v, fd) == napi_ok && *fd >= 0;
}

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 2 || !read_fd(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "bindToDevice(fd, ifname): fd must be a socket descriptor");
    return NULL;
  }
  char name[IFNAMSIZ + 1];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok || len == 0 || len >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, "bindToDevice(fd, ifname): ifname must be an interface name of 1-15 characters");
    return NULL;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)(len + 1)) != 0) return throw_errno(env, "setsockopt(SO_BINDTODEVICE)", errno);
  return NULL;
}

static napi_value bound_device(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !read_fd(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "boundDevice(fd): fd must be a socket descriptor");
    return NULL;
  }
  char name[IFNAMSIZ + 1];
  memset(name, 0, sizeof name);
  socklen_t len = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len) != 0) return throw_errno(env, "getsockopt(SO_BINDTODEVICE)", errno);
  napi_value out;
  napi_create_string_utf8(env, name, strnlen(name, IFNAMSIZ), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"bindToDevice", NULL, bind_to_device, NULL, NULL, NULL, napi_enumerable, NULL},
      {"boundDevice", NULL, bound_device, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
