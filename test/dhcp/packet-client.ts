// A crafted-packet DHCP client for the tests, run inside the client namespace:
//   node build/test/dhcp/packet-client.js '<json spec>'
// It binds port 68 (or spec.port) on the given interface, sends each step's datagram and collects the
// replies that arrive within the step's wait, then prints one JSON object: { replies: [[...], ...] }.
import * as dgram from 'node:dgram';
import { bindSocketToDevice } from '../../services/dhcp/interface-binding.js';
import { decodePacket, describePacket, encodePacket, type DhcpPacket } from '../../services/dhcp/packet.js';
import { ipToInt } from '../../services/dhcp/ipv4.js';

export interface StepSpec {
  /** Raw datagram in hex (bad-input tests). */
  hex?: string;
  packet?: {
    type: number;
    xid: number;
    mac: string;
    ciaddr?: string;
    giaddr?: string;
    flags?: number;
    op?: number;
    /** option code -> hex value */
    options?: Record<string, string>;
  };
  to?: string;
  toPort?: number;
  waitMs: number;
}

export interface ClientSpec {
  ifname: string;
  port?: number;
  bindAddress?: string;
  steps: StepSpec[];
}

export function buildPacket(s: NonNullable<StepSpec['packet']>): DhcpPacket {
  const chaddr = new Uint8Array(16);
  s.mac.split(':').forEach((h, i) => (chaddr[i] = Number.parseInt(h, 16)));
  const options = new Map<number, Uint8Array>([[53, Uint8Array.of(s.type)]]);
  for (const [code, hex] of Object.entries(s.options ?? {})) options.set(Number(code), Buffer.from(hex, 'hex'));
  return {
    op: s.op ?? 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: s.xid,
    secs: 0,
    flags: s.flags ?? 0x8000,
    ciaddr: s.ciaddr ? ipToInt(s.ciaddr) : 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: s.giaddr ? ipToInt(s.giaddr) : 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as ClientSpec;
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind({ address: spec.bindAddress ?? '0.0.0.0', port: spec.port ?? 68 }, resolve));
  bindSocketToDevice(socket, spec.ifname);
  socket.setBroadcast(true);
  let current: unknown[] = [];
  socket.on('message', (msg, rinfo) => {
    const r = decodePacket(msg);
    current.push(
      r.ok ? { from: rinfo.address, port: rinfo.port, length: msg.length, fields: describePacket(r.packet) } : { from: rinfo.address, error: r.reason },
    );
  });
  const replies: unknown[][] = [];
  for (const step of spec.steps) {
    current = [];
    const data = step.hex !== undefined ? Buffer.from(step.hex, 'hex') : encodePacket(buildPacket(step.packet!), 0);
    await new Promise<void>((resolve) => socket.send(data, step.toPort ?? 67, step.to ?? '255.255.255.255', () => resolve()));
    await new Promise((r) => setTimeout(r, step.waitMs));
    replies.push(current);
  }
  socket.close();
  process.stdout.write(`${JSON.stringify({ replies })}\n`);
}

if (process.argv[1]?.endsWith('packet-client.js')) {
  main().catch((err: unknown) => {
    process.stderr.write(`packet-client: ${String(err)}\n`);
    process.exit(1);
  });
}
