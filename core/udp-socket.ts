// UDP sockets (IPv4, or IPv6 for an IPv6 address) for DHCP and DNS. For DHCP: a receiving socket and, because Node cannot choose the outgoing interface of
// a broadcast from a socket bound to 0.0.0.0, optionally a sending socket bound to the interface's
// own address with SO_BROADCAST (reuseAddr lets both share the port).
import * as dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { ListenError } from './errors.js';

export interface UdpSocketOptions {
  service: string;
  label?: string;
  address: string;
  port: number;
  broadcast?: boolean;
  reuseAddr?: boolean;
  /** Receive buffer size in bytes (bursts of DHCP traffic). */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export async function openUdpSocket(options: UdpSocketOptions): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: isIPv6(options.address) ? 'udp6' : 'udp4', reuseAddr: options.reuseAddr ?? false, lookup: literalLookup });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new ListenError(options.service, options.label ?? options.service, options.address, options.port, err));
    };
    socket.once('error', onError);
    socket.bind({ address: options.address, port: options.port, exclusive: !options.reuseAddr }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  if (options.broadcast) socket.setBroadcast(true);
  if (options.recvBufferSize) socket.setRecvBufferSize(options.recvBufferSize);
  if (options.sendBufferSize) socket.setSendBufferSize(options.sendBufferSize);
  // A send error on one datagram (ENETUNREACH...) must never take the process down.
  socket.on('error', () => {});
  return socket;
}

export function sendUdp(socket: dgram.Socket, data: Uint8Array, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(data, port, address, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * dgram resolves every destination through dns.lookup, which answers an IP literal only on a later
 * tick; a DHCP server sends thousands of datagrams a second to literal addresses, so those are
 * answered at once.
 */
function literalLookup(hostname: string, options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options as never, callback as never);
}
