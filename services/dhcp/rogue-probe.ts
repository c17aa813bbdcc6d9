// Before serving, labnet asks the lab interface whether a DHCP server already answers there: it sends
// its own DHCPDISCOVER (as a client would, from port 68, broadcast flag set) and listens for OFFERs.
// A second DHCP server on a school network is a real incident, so any answer stops the start-up
// (unless --dhcp-force). The probe socket is tied to the interface like the server's sockets.
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

export function probeDiscover(mac: string, xid: number): DhcpPacket {
  const chaddr = new Uint8Array(16);
  mac.split(':').forEach((h, i) => (chaddr[i] = Number.parseInt(h, 16) || 0));
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags: BROADCAST_FLAG,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
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
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const answers: ProbeAnswer[] = [];
  const xid = randomInt(1, 0x7fffffff);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: '0.0.0.0', port: DHCP_CLIENT_PORT, exclusive: false }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
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
    const discover = probeDiscover(options.mac, xid);
    const peer = { address: LIMITED_BROADCAST, port: options.serverPort };
    options.onPacket?.('out', discover, peer);
    await new Promise<void>((resolve, reject) => socket.send(encodePacket(discover), peer.port, peer.address, (err) => (err ? reject(err) : resolve())));
    await new Promise((r) => setTimeout(r, options.timeoutMs));
  } finally {
    socket.close();
  }
  return answers;
}
