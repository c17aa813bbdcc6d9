// Serving exactly one interface.
//
// A dgram socket on 0.0.0.0:67 receives the DHCP broadcasts of every interface and Node cannot tell
// which one a datagram arrived on. labnet ties its sockets to the lab interface with SO_BINDTODEVICE
// (socket(7)): the kernel then delivers only datagrams that came in on that interface. Node has no API
// for that option, so a ten-line Node-API addon (services/dhcp/native/bind-device, built by node-gyp during
// `npm ci` / `make`, see services/dhcp/native/build-addon.mjs) calls setsockopt on the dgram socket's descriptor.
// The alternatives were worse: raw/packet sockets need the same kind of addon and a hand-built
// IP/UDP stack; binding to the interface address misses the broadcasts to 255.255.255.255; filtering
// by source subnet lets a spoofed or relayed packet from another network through.
//
// Sending: a socket bound to 0.0.0.0 cannot choose the interface of a broadcast (and 255.255.255.255
// fails with ENETUNREACH without a default route), so replies go out through a second socket bound to
// the interface's own address with SO_BROADCAST, sharing the port through SO_REUSEADDR. Unicast
// datagrams to that address (renewals) arrive on that second socket, so both sockets are read.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { projectPath } from '../../core/paths.js';
import type { Socket } from 'node:dgram';

interface BindDeviceAddon {
  bindToDevice(fd: number, ifname: string): void;
  boundDevice(fd: number): string;
}

export const ADDON_PATH = projectPath('services', 'dhcp', 'native', 'bind-device', 'build', 'Release', 'bind_device.node');

let addon: BindDeviceAddon | undefined;

export function loadBindDevice(): BindDeviceAddon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(
      `the SO_BINDTODEVICE addon is not built (${ADDON_PATH} is missing); run \`npm ci\` or \`node services/dhcp/native/build-addon.mjs\` (needs python3, make and a C compiler)`,
    );
  }
  addon = createRequire(import.meta.url)(ADDON_PATH) as BindDeviceAddon;
  return addon;
}

/** The OS descriptor of a bound dgram socket (from its handle, without the deprecated `_handle`). */
export function socketFd(socket: Socket): number {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state = sym ? (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym] : undefined;
  const fd = state?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('cannot get the descriptor of the DHCP socket (unsupported Node version?)');
  return fd;
}

export function bindSocketToDevice(socket: Socket, ifname: string): void {
  loadBindDevice().bindToDevice(socketFd(socket), ifname);
}

export function boundDevice(socket: Socket): string {
  return loadBindDevice().boundDevice(socketFd(socket));
}

export interface InterfaceInfo {
  name: string;
  /** The address the server uses (the first that `wanted` accepts); '' when none does. */
  address: string;
  netmask: string;
  mac: string;
  /** Every IPv4 address of the interface, in the kernel's order. */
  addresses: string[];
}

/**
 * The interface's IPv4 address that `wanted` accepts (by default the first), or a message saying
 * what is wrong. An interface with addresses but none wanted comes back with `address` ''.
 */
export function lookupInterface(name: string, wanted: (address: string) => boolean = () => true): InterfaceInfo | string {
  const all = networkInterfaces();
  const addrs = all[name];
  if (!addrs) return `interface "${name}" does not exist (interfaces here: ${Object.keys(all).join(', ') || 'none'})`;
  const v4 = addrs.filter((a) => a.family === 'IPv4');
  if (v4.length === 0) return `interface "${name}" has no IPv4 address; give it one inside the DHCP subnet (e.g. \`ip addr add 10.0.0.1/24 dev ${name}\`)`;
  const chosen = v4.find((a) => wanted(a.address));
  return {
    name,
    address: chosen?.address ?? '',
    netmask: chosen?.netmask ?? '',
    mac: v4[0].mac,
    addresses: v4.map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? a.netmask}`),
  };
}
