// The crafted part of the decoder corpus: every header variant the decoders handle that a real
// exchange on this machine cannot produce, each built byte by byte.
import { arp, ethernet, icmp, ipv4, ipv6, pad4, tcp, tcpOpt, udp, MAC_A, MAC_B, type CraftedFrame } from './craft.js';

const A = '10.66.0.2';
const B = '10.66.0.1';

function dhcpDiscover(xid: number, chaddr: string): Buffer {
  const b = Buffer.alloc(240 + 8);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(0x8000, 10);
  Buffer.from(chaddr.replace(/:/g, ''), 'hex').copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  Buffer.from([53, 1, 1, 255]).copy(b, 240);
  return b;
}

export function craftedFrames(): Array<CraftedFrame & { label: string }> {
  const f: Array<CraftedFrame & { label: string }> = [];
  const add = (label: string, data: Buffer, originalLength?: number): void => {
    f.push({ label, data, ...(originalLength !== undefined ? { originalLength } : {}) });
  };
  const syn = tcp(Buffer.alloc(0), {
    sport: 51000,
    dport: 80,
    seq: 0xfffffff0,
    flags: 'S',
    window: 64240,
    options: pad4([tcpOpt.mss(1460), tcpOpt.sackPerm(), tcpOpt.ts(123456, 0), tcpOpt.nop(), tcpOpt.wscale(7)]),
  });
  add('vlan udp', ethernet(ipv4(udp(Buffer.from('hello'), { sport: 40000, dport: 9999 }), { protocol: 17 }), { vlans: [{ id: 100, pcp: 5, dei: true }] }));
  add(
    'qinq tcp syn',
    ethernet(ipv4(syn, { protocol: 6, df: true }), {
      vlans: [
        { id: 200, tpid: 0x88a8 },
        { id: 10, pcp: 3 },
      ],
    }),
  );
  add(
    'tcp sack',
    ethernet(
      ipv4(
        tcp(Buffer.alloc(0), {
          sport: 80,
          dport: 51000,
          seq: 1000,
          ack: 5000,
          flags: 'A',
          options: pad4([
            tcpOpt.nop(),
            tcpOpt.nop(),
            tcpOpt.ts(9, 8),
            tcpOpt.nop(),
            tcpOpt.nop(),
            tcpOpt.sack([
              [6000, 7000],
              [8000, 9000],
            ]),
          ]),
        }),
        { protocol: 6, src: B, dst: A },
      ),
    ),
  );
  add(
    'tcp offloaded',
    ethernet(
      ipv4(tcp(Buffer.from('GET / HTTP/1.1\r\n\r\n'), { sport: 51000, dport: 80, seq: 1, ack: 2, flags: 'PA', checksum: 'offloaded' }), { protocol: 6 }),
    ),
  );
  add('tcp bad checksum', ethernet(ipv4(tcp(Buffer.from('x'), { sport: 51000, dport: 80, seq: 1, ack: 2, flags: 'PA', checksum: 0x1234 }), { protocol: 6 })));
  add(
    'tcp urg ecn',
    ethernet(ipv4(tcp(Buffer.from('!!'), { sport: 51000, dport: 23, seq: 77, ack: 88, flags: 'UAPEC', urgent: 2 }), { protocol: 6, tos: 0xb8 | 3 })),
  );
  add(
    'tcp eol',
    ethernet(ipv4(tcp(Buffer.alloc(0), { sport: 1, dport: 2, seq: 3, flags: 'S', options: pad4([tcpOpt.mss(536), tcpOpt.eol()]) }), { protocol: 6 })),
  );
  add('ip bad checksum', ethernet(ipv4(udp(Buffer.from('x'), { sport: 1234, dport: 53 }), { protocol: 17, checksum: 0xbeef })));
  add('udp no checksum', ethernet(ipv4(udp(Buffer.from('no sum'), { sport: 1234, dport: 5353, checksum: 0 }), { protocol: 17 })));
  const rr = Buffer.alloc(40);
  rr[0] = 1; // NOP
  rr[1] = 7;
  rr[2] = 39;
  rr[3] = 12; // two addresses filled
  Buffer.from([10, 66, 0, 2, 10, 66, 0, 1]).copy(rr, 4);
  add('ip record route', ethernet(ipv4(icmp(8, 0, Buffer.from([0, 1, 0, 1, 1, 2, 3, 4])), { protocol: 1, options: rr })));
  add('ip router alert', ethernet(ipv4(Buffer.alloc(8), { protocol: 2, ttl: 1, options: Buffer.from([148, 4, 0, 0]), dst: '224.0.0.22' })));
  const ts = Buffer.alloc(12);
  ts[0] = 68;
  ts[1] = 12;
  ts[2] = 9;
  ts[3] = 0x10; // overflow 1, flag 0 (timestamps only)
  ts.writeUInt32BE(1234567, 4);
  add('ip timestamp', ethernet(ipv4(icmp(8, 0, Buffer.from([0, 2, 0, 1])), { protocol: 1, options: ts })));
  add('ip nop eol', ethernet(ipv4(icmp(8, 0, Buffer.from([0, 3, 0, 1])), { protocol: 1, options: Buffer.from([1, 1, 0, 0]) })));
  // A 3000-byte UDP datagram cut into three fragments (offsets 0, 1480, 2960).
  const big = udp(Buffer.alloc(2992, 0x41), { sport: 40001, dport: 9998 });
  add('fragment first', ethernet(ipv4(big.subarray(0, 1480), { protocol: 17, id: 0x4242, mf: true })));
  add('fragment middle', ethernet(ipv4(big.subarray(1480, 2960), { protocol: 17, id: 0x4242, mf: true, fragmentOffset: 1480 })));
  add('fragment last', ethernet(ipv4(big.subarray(2960), { protocol: 17, id: 0x4242, fragmentOffset: 2960, reservedBit: true })));
  add('arp request', ethernet(arp({ opcode: 1, senderIp: A, targetIp: B }), { type: 0x0806, dst: 'ff:ff:ff:ff:ff:ff' }));
  add('arp reply', ethernet(arp({ opcode: 2, senderMac: MAC_B, senderIp: B, targetMac: MAC_A, targetIp: A }), { type: 0x0806, src: MAC_B, dst: MAC_A }));
  add('arp probe', ethernet(arp({ opcode: 1, senderIp: '0.0.0.0', targetIp: '10.66.0.77' }), { type: 0x0806, dst: 'ff:ff:ff:ff:ff:ff' }));
  add('arp gratuitous', ethernet(arp({ opcode: 1, senderIp: A, targetIp: A }), { type: 0x0806, dst: 'ff:ff:ff:ff:ff:ff' }));
  add('icmp echo', ethernet(ipv4(icmp(8, 0, Buffer.concat([Buffer.from([0x12, 0x34, 0, 7]), Buffer.alloc(48, 0x61)])), { protocol: 1 })));
  add('icmp echo reply', ethernet(ipv4(icmp(0, 0, Buffer.concat([Buffer.from([0x12, 0x34, 0, 7]), Buffer.alloc(48, 0x61)])), { protocol: 1, src: B, dst: A })));
  const quotedUdp = ipv4(udp(Buffer.from('probe'), { sport: 40002, dport: 9 }), { protocol: 17 });
  add('icmp port unreachable', ethernet(ipv4(icmp(3, 3, Buffer.concat([Buffer.alloc(4), quotedUdp])), { protocol: 1, src: B, dst: A, tos: 0xc0 })));
  const quotedTcp = ipv4(tcp(Buffer.alloc(1400), { sport: 51000, dport: 80, seq: 1, ack: 1, flags: 'PA' }), { protocol: 6, df: true }).subarray(0, 28);
  add('icmp frag needed', ethernet(ipv4(icmp(3, 4, Buffer.concat([Buffer.from([0, 0, 0x05, 0x78]), quotedTcp])), { protocol: 1, src: B, dst: A })));
  add('icmp time exceeded', ethernet(ipv4(icmp(11, 0, Buffer.concat([Buffer.alloc(4), quotedTcp])), { protocol: 1, src: '10.66.9.9', dst: A })));
  add('icmp redirect', ethernet(ipv4(icmp(5, 1, Buffer.concat([Buffer.from([10, 66, 0, 254]), quotedUdp])), { protocol: 1, src: B, dst: A })));
  add('icmp parameter problem', ethernet(ipv4(icmp(12, 0, Buffer.concat([Buffer.from([20, 0, 0, 0]), quotedUdp])), { protocol: 1, src: B, dst: A })));
  const v6 = { src: 'fd00:66::2', dst: 'fd00:66::1' };
  add(
    'ipv6 udp',
    ethernet(ipv6(udp(Buffer.from('six'), { ...v6, sport: 40003, dport: 9997 }), { ...v6, next: 17, tclass: 0xb8, flow: 0x12345 }), { type: 0x86dd }),
  );
  add('icmpv6 echo', ethernet(ipv6(icmp(128, 0, Buffer.from([0, 9, 0, 1, 1, 2, 3, 4]), { v6 }), { ...v6, next: 58 }), { type: 0x86dd }));
  const quoted6 = ipv6(udp(Buffer.from('x'), { ...v6, sport: 40004, dport: 9 }), { ...v6, next: 17 });
  const back6 = { src: v6.dst, dst: v6.src };
  add(
    'icmpv6 port unreachable',
    ethernet(ipv6(icmp(1, 4, Buffer.concat([Buffer.alloc(4), quoted6]), { v6: back6 }), { ...back6, next: 58 }), { type: 0x86dd }),
  );
  add(
    'icmpv6 too big',
    ethernet(ipv6(icmp(2, 0, Buffer.concat([Buffer.from([0, 0, 5, 0]), quoted6]), { v6: back6 }), { ...back6, next: 58 }), { type: 0x86dd }),
  );
  const target = Buffer.from('fd000066000000000000000000000001', 'hex');
  const nsOpt = Buffer.from([1, 1, 2, 0, 0, 0, 0, 0x0a]);
  const solicited = { src: 'fd00:66::2', dst: 'ff02::1:ff00:1' };
  add(
    'icmpv6 neighbor solicitation',
    ethernet(ipv6(icmp(135, 0, Buffer.concat([Buffer.alloc(4), target, nsOpt]), { v6: solicited }), { ...solicited, next: 58, hopLimit: 255 }), {
      type: 0x86dd,
    }),
  );
  const naFlags = Buffer.from([0x60, 0, 0, 0]);
  add(
    'icmpv6 neighbor advertisement',
    ethernet(
      ipv6(icmp(136, 0, Buffer.concat([naFlags, target, Buffer.from([2, 1, 2, 0, 0, 0, 0, 0x0b])]), { v6: back6 }), { ...back6, next: 58, hopLimit: 255 }),
      {
        type: 0x86dd,
      },
    ),
  );
  add(
    'dhcp discover',
    ethernet(
      ipv4(udp(dhcpDiscover(0xdeadbeef, MAC_A), { src: '0.0.0.0', dst: '255.255.255.255', sport: 68, dport: 67 }), {
        protocol: 17,
        src: '0.0.0.0',
        dst: '255.255.255.255',
      }),
      {
        dst: 'ff:ff:ff:ff:ff:ff',
      },
    ),
  );
  add('padded ack', ethernet(ipv4(tcp(Buffer.alloc(0), { sport: 51000, dport: 80, seq: 5, ack: 6, flags: 'A' }), { protocol: 6 })));
  const llc = Buffer.concat([Buffer.from([0x42, 0x42, 0x03]), Buffer.alloc(40)]);
  add('802.3 llc', ethernet(llc, { type: llc.length, dst: '01:80:c2:00:00:00' }));
  // Truncated by a short snap length: the wire had more than the capture kept.
  const full = ethernet(
    ipv4(tcp(Buffer.alloc(1000, 0x42), { sport: 51000, dport: 80, seq: 1, ack: 1, flags: 'PA', options: pad4([tcpOpt.ts(1, 2)]) }), { protocol: 6 }),
  );
  add('truncated payload', full.subarray(0, 96), full.length);
  add('truncated in tcp options', full.subarray(0, 60), full.length);
  add('truncated in tcp header', full.subarray(0, 44), full.length);
  add('truncated in ip header', full.subarray(0, 24), full.length);
  add('truncated in ethernet header', full.subarray(0, 10), full.length);
  const frag = ethernet(ipv4(big.subarray(0, 1480), { protocol: 17, id: 0x4343, mf: true }));
  add('truncated fragment', frag.subarray(0, 64), frag.length);
  return f;
}
