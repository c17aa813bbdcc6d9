// Before serving, labnet asks the lab interface whether a DHCP server already answers there: it sends
// its own DHCPDISCOVER (as a client would, from port 68, broadcast flag set) and listens for OFFERs.
// A second DHCP server on a school network is a real incident, so any answer stops the start-up
// (unless --dhcp-force). The probe socket is tied to the interface like the server's sockets.
// When port 68 is taken (a DHCP client on this machine holds it without SO_REUSEADDR), the probe acts
// as a relay agent instead: giaddr = the interface's address, so a server answers by unicast to that
// address on port 67 (RFC 2131 4.1), which labnet can bind.
import * as dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { bindSocketToDevice } from './interface-binding.js';
import { DHCP_CLIENT_PORT } from './limits.js';
import { ipToInt, intToIp } from './ipv4.js';
import { BROADCAST_FLAG, decodePacket, encodePacket, messageType, optionIp, type DhcpPacket } from './packet.js';
import { MSG, OPT } from './options.js';
import { LIMITED_BROADCAST } from './server.js';

export interface ProbeAnswer {
  /** The source address of the OFFER. */
  from: string;
  /** Its server identifier (option 54), when present. */
  serverId?: string;
  offered: string;
}

export interface ProbeOptions {
  ifname: string;
  ifaddr: string;
  mac: string;
  timeoutMs: number;
  serverPort: number;
  /** Called with every decoded datagram (protocol events). */
  onPacket?: (direction: 'in' | 'out', p: DhcpPacket, peer: { address: string; port: number }) => void;
}

export function probeDiscover(mac: string, xid: number, giaddr = 0): DhcpPacket {
  const chaddr = new Uint8Array(16);
  mac.split(':').forEach((h, i) => (chaddr[i] = Number.parseInt(h, 16) || 0));
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: giaddr ? 1 : 0,
    xid,
    secs: 0,
    flags: giaddr ? 0 : BROADCAST_FLAG,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options: new Map<number, Uint8Array>([
      [OPT.messageType, Uint8Array.of(MSG.DISCOVER)],
      [OPT.parameterRequestList, Uint8Array.of(OPT.subnetMask, OPT.router, OPT.serverId)],
      [OPT.vendorClassId, Buffer.from('labnet-rogue-probe')],
    ]),
  };
}

/** Sends one DISCOVER on the interface and collects the OFFERs that answer it within timeoutMs. */
export async function probeForDhcpServers(options: ProbeOptions): Promise<ProbeAnswer[]> {
  let socket: dgram.Socket;
  let relay = false;
  try {
    socket = await bindProbe('0.0.0.0', DHCP_CLIENT_PORT);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    socket = await bindProbe(options.ifaddr, options.serverPort);
    relay = true;
  }
  const answers: ProbeAnswer[] = [];
  const xid = randomInt(1, 0x7fffffff);
  try {
    socket.on('error', () => {});
    bindSocketToDevice(socket, options.ifname);
    socket.setBroadcast(true);
    const own = ipToInt(options.ifaddr);
    socket.on('message', (msg, rinfo) => {
      const r = decodePacket(msg);
      if (!r.ok || r.packet.op !== 2 || r.packet.xid !== xid || messageType(r.packet) !== MSG.OFFER) return;
      options.onPacket?.('in', r.packet, { address: rinfo.address, port: rinfo.port });
      const serverId = optionIp(r.packet, OPT.serverId);
      if (serverId === own) return;
      answers.push({ from: rinfo.address, ...(serverId !== undefined ? { serverId: intToIp(serverId) } : {}), offered: intToIp(r.packet.yiaddr) });
    });
    const discover = probeDiscover(options.mac, xid, relay ? own : 0);
    const peer = { address: LIMITED_BROADCAST, port: options.serverPort };
    options.onPacket?.('out', discover, peer);
    await new Promise<void>((resolve, reject) => socket.send(encodePacket(discover), peer.port, peer.address, (err) => (err ? reject(err) : resolve())));
    await new Promise((r) => setTimeout(r, options.timeoutMs));
  } finally {
    socket.close();
  }
  return answers;
}

function bindProbe(address: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: false }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
