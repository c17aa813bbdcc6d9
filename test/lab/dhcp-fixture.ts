// DHCP packet events as services/dhcp publishes them, for the lab's DHCP view tests: message type
// `type` (option 53), the BOOTP header zeroed unless `over` says otherwise, `options` added.
import type { PacketEvent } from '../../core/events.js';
import { describePacket, type DhcpPacket } from '../../services/dhcp/packet.js';

/** A client hardware address 02:00:00:x:y:z in a 16-octet chaddr. */
export function chaddrOf(x: number, y: number, z: number): Uint8Array {
  const chaddr = new Uint8Array(16);
  chaddr.set([0x02, 0, 0, x, y, z]);
  return chaddr;
}

export function dhcpPacketEvent(
  type: number,
  over: Partial<DhcpPacket> = {},
  options: Array<[number, number[]]> = [],
  event: Partial<Pick<PacketEvent, 'time' | 'peer' | 'summary'>> = {},
): PacketEvent {
  const p: DhcpPacket = {
    op: type === 2 || type === 5 || type === 6 ? 2 : 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: chaddrOf(0, 0, 0),
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options: new Map<number, Uint8Array>([[53, Uint8Array.of(type)], ...options.map(([c, v]) => [c, Uint8Array.from(v)] as [number, Uint8Array])]),
    ...over,
  };
  return {
    type: 'packet',
    service: 'dhcp',
    time: event.time ?? 1_000_000,
    direction: p.op === 1 ? 'in' : 'out',
    peer: event.peer ?? { address: p.op === 1 ? '0.0.0.0' : '255.255.255.255', port: p.op === 1 ? 68 : 67 },
    summary: event.summary ?? 'x',
    fields: describePacket(p),
  };
}
