// Decodes one captured frame layer by layer, as the course teaches them: the Ethernet frame (and its
// VLAN tags), ARP or IPv4/IPv6, ICMP, UDP or TCP, the application data. Each layer comes from its
// field table; the frame also comes as its encapsulation (each header and the payload with their
// sizes) for the nested-boxes drawing. Never throws: hostile or cut-short bytes give layers with
// problems, not exceptions.
import { decodeArp } from './arp.js';
import { decodeEthernet, decodeVlan, ethernetPadding, ETHERTYPES } from './ethernet.js';
import { decodeIcmp, decodeIcmpv6, type IcmpInfo } from './icmp.js';
import { decodeIpv4, type Ipv4Info } from './ipv4.js';
import { decodeIpv6, type Ipv6Info } from './ipv6.js';
import type { LayerResult, NextHeader } from './layer.js';
import { decodePayload, WELL_KNOWN_PORTS } from './payload.js';
import { decodeTcp } from './tcp.js';
import type { IpContext } from './transport.js';
import { decodeUdp } from './udp.js';
import type { DecodedFrame } from './view-types.js';
export type { EncapsulationPart, DecodedFrame } from './view-types.js';

/** pcap link types (https://www.tcpdump.org/linktypes.html) this decoder reads. */
export const LINKTYPE = { ETHERNET: 1, RAW: 101, IPV4: 228, IPV6: 229 } as const;

export interface DecodeOptions {
  /** Server ports and what they speak ('HTTP', 'SMTP'...): the lab's own listeners. */
  ports?: ReadonlyMap<number, string>;
  /** When the frame was captured (microseconds since the epoch): ping's send time in the data is recognised by it. */
  timeUs?: number;
}

const FCS_NOTE =
  'The 4-byte CRC the course puts at the end of the frame: computed by the sending network card, checked and removed by the receiving one. ' +
  'It is never in a capture, so it is drawn here but has no bytes.';

/** Layers are nested at most this deep (VLAN tags, an ICMP error quoting a datagram). */
const MAX_LAYERS = 12;

export function decodeFrame(data: Uint8Array, linkType: number, originalLength = data.length, options: DecodeOptions = {}): DecodedFrame {
  const frame: DecodedFrame = {
    linkType,
    capturedLength: data.length,
    originalLength,
    truncated: originalLength > data.length,
    layers: [],
    encapsulation: [],
    summary: '',
    protocol: '',
    source: '',
    destination: '',
    problems: [],
  };
  try {
    walk(data, linkType, frame, options.ports ?? WELL_KNOWN_PORTS, options.timeUs);
  } catch (err) {
    // A decoder bug must not take the capture down; say what happened instead.
    frame.problems.push(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const l of frame.layers) frame.problems.push(...l.problems);
  return frame;
}

function part(frame: DecodedFrame, name: string, layer: string, offset: number, length: number, depth: number, note?: string): void {
  const captured = Math.max(0, Math.min(length, frame.capturedLength - offset));
  frame.encapsulation.push({ name, layer, offset, length: Math.max(0, length), captured, depth, ...(note ? { note } : {}) });
}

function walk(b: Uint8Array, linkType: number, frame: DecodedFrame, ports: ReadonlyMap<number, string>, timeUs: number | undefined): void {
  const end = b.length;
  // Where the frame would end on the wire (original length), for parts cut short by the snap length.
  const wireEnd = frame.originalLength;
  let r: LayerResult;
  let depth = 0;
  let ethernet = false;
  if (linkType === LINKTYPE.ETHERNET) {
    r = decodeEthernet(b, 0, end);
    frame.layers.push(r.layer);
    frame.source = r.layer.fields[1]?.text ?? '';
    frame.destination = r.layer.fields[0]?.text ?? '';
    frame.protocol = r.layer.name === 'IEEE 802.3' ? 'LLC' : 'Ethernet';
    frame.summary = r.layer.summary;
    part(frame, 'Ethernet header', 'eth', 0, 14, 0);
    ethernet = true;
    for (let tags = 0; r.next && (r.next.type === 0x8100 || r.next.type === 0x88a8) && tags < 4; tags++) {
      r = decodeVlan(b, r.next.offset, end, r.next.type);
      frame.layers.push(r.layer);
      frame.summary = r.layer.summary;
      part(frame, r.layer.name, r.layer.id, r.layer.offset, 4, 0);
    }
  } else if (linkType === LINKTYPE.RAW || linkType === LINKTYPE.IPV4 || linkType === LINKTYPE.IPV6) {
    const version = end > 0 ? b[0] >> 4 : 4;
    r = {
      layer: { id: 'raw', name: 'Raw IP', offset: 0, length: 0, summary: '', fields: [], problems: [] },
      next: { type: version === 6 ? 0x86dd : 0x0800, offset: 0, end },
    };
  } else {
    frame.layers.push({
      id: 'frame',
      name: `Link type ${linkType}`,
      offset: 0,
      length: end,
      summary: `link type ${linkType} is not decoded`,
      fields: [],
      problems: [`link type ${linkType} is not decoded`],
    });
    frame.summary = `link type ${linkType}`;
    return;
  }
  let next: NextHeader | undefined = r.next;
  let ethertype = next?.type ?? -1;
  if (!next) return;
  if (ethertype === 0x0806) {
    const arp = decodeArp(b, next.offset, end);
    frame.layers.push(arp.layer);
    frame.protocol = 'ARP';
    frame.summary = arp.layer.summary;
    part(frame, 'ARP message', 'arp', next.offset, 28, 0, 'ARP rides directly in the Ethernet frame, not in IP.');
    trailing(b, frame, next.offset + 28, end, wireEnd, ethernet);
    return;
  }
  if (ethertype !== 0x0800 && ethertype !== 0x86dd) {
    frame.protocol = ETHERTYPES[ethertype] ?? `EtherType 0x${ethertype.toString(16).padStart(4, '0')}`;
    part(frame, `${frame.protocol} data`, 'data', next.offset, wireEnd - next.offset, 0);
    trailing(b, frame, wireEnd, end, wireEnd, ethernet);
    return;
  }
  // IP, possibly quoting another IP datagram inside an ICMP error (one level: a quote quotes nothing).
  let datagramEnd = wireEnd;
  for (let level = 0; level < 2 && next && frame.layers.length < MAX_LAYERS; level++) {
    const quoted = level > 0;
    const ipResult: LayerResult & { info?: Ipv4Info | Ipv6Info } =
      ethertype === 0x0800 ? decodeIpv4(b, next.offset, Math.min(end, next.end)) : decodeIpv6(b, next.offset, Math.min(end, next.end));
    const ipLayer = ipResult.layer;
    if (quoted) ipLayer.quoted = true;
    frame.layers.push(ipLayer);
    const info = ipResult.info;
    const v4 = ethertype === 0x0800;
    if (!info) {
      part(frame, `${v4 ? 'IPv4' : 'IPv6'} header${quoted ? ' (quoted)' : ''}`, ipLayer.id, next.offset, next.end - next.offset, depth);
      if (!quoted) frame.protocol = v4 ? 'IPv4' : 'IPv6';
      return;
    }
    const headerLength = 'headerLength' in info ? info.headerLength : 40;
    const ipEnd = next.offset + ('totalLength' in info ? Math.max(info.totalLength, headerLength) : 40 + info.payloadLength);
    if (!quoted) {
      frame.source = info.src;
      frame.destination = info.dst;
      frame.protocol = v4 ? 'IPv4' : 'IPv6';
      frame.summary = ipLayer.summary;
      datagramEnd = ipEnd;
      if (ipEnd > wireEnd)
        ipLayer.problems.push(`the ${v4 ? 'total' : 'payload'} length says ${ipEnd - next.offset} bytes, but the frame holds ${wireEnd - next.offset}`);
    }
    part(frame, `${v4 ? 'IPv4' : 'IPv6'} header${quoted ? ' (quoted)' : ''}`, ipLayer.id, next.offset, headerLength, depth);
    const ip: IpContext = {
      version: v4 ? 4 : 6,
      base: next.offset,
      src: info.src,
      dst: info.dst,
      fragmented: 'moreFragments' in info && (info.moreFragments || info.fragmentOffset > 0),
      quoted,
    };
    const tr: NextHeader | undefined = ipResult.next;
    const limit = quoted ? next.end : Math.min(ipEnd, wireEnd);
    if (!tr) {
      // A fragment after the first: the middle of a datagram, no transport header.
      part(
        frame,
        `fragment data (bytes ${'fragmentOffset' in info ? info.fragmentOffset : 0} on)`,
        'data',
        next.offset + headerLength,
        limit - next.offset - headerLength,
        depth,
      );
      if (!quoted) frame.summary = `${ipLayer.summary}`;
      break;
    }
    const capEnd = Math.min(end, quoted ? next.end : end);
    const trEnd = quoted ? next.end : Math.min(tr.end, wireEnd);
    next = undefined;
    if (tr.type === 6 || tr.type === 17) {
      const t = tr.type === 6 ? decodeTcp(b, tr.offset, capEnd, trEnd, ip) : decodeUdp(b, tr.offset, capEnd, trEnd, ip);
      frame.layers.push(t.layer);
      const name = tr.type === 6 ? 'TCP' : 'UDP';
      const hdr = tr.type === 6 ? (t.next ? t.next.offset - tr.offset : 20) : 8;
      part(frame, `${name} header${quoted ? ' (quoted)' : ''}`, t.layer.id, tr.offset, quoted ? Math.min(hdr, trEnd - tr.offset) : hdr, depth);
      if (!quoted) {
        frame.protocol = name;
        frame.summary = t.layer.summary;
      }
      if (t.next && !quoted && t.next.end > t.next.offset) {
        const sport = (t.layer.fields[0]?.raw as number) ?? 0;
        const dport = (t.layer.fields[1]?.raw as number) ?? 0;
        const app = decodePayload(b, t.next.offset, end, t.next.end, sport, dport, ports);
        frame.layers.push(app);
        frame.protocol = app.name === 'Application data' ? frame.protocol : app.name;
        if (app.id !== 'data' || app.name !== 'Application data') frame.summary = `${frame.summary}; ${app.summary}`;
        part(frame, `${app.name} data`, app.id, t.next.offset, t.next.end - t.next.offset, depth);
      }
    } else if (tr.type === 1 || tr.type === 58) {
      const messageEnd = trEnd;
      const c: LayerResult & { info?: IcmpInfo } =
        tr.type === 1 ? decodeIcmp(b, tr.offset, capEnd, messageEnd, ip, timeUs) : decodeIcmpv6(b, tr.offset, capEnd, messageEnd, ip);
      if (quoted) c.layer.quoted = true;
      frame.layers.push(c.layer);
      if (!quoted) {
        frame.protocol = c.layer.name;
        frame.summary = c.layer.summary;
      }
      if (c.next && !quoted) {
        part(frame, `${c.layer.name} header`, c.layer.id, tr.offset, 8, depth);
        depth = 1;
        next = { type: c.next.type === 4 ? 0x0800 : 0x86dd, offset: c.next.offset, end: c.next.end };
        ethertype = next.type;
        continue;
      }
      part(frame, `${c.layer.name} message`, c.layer.id, tr.offset, messageEnd - tr.offset, depth);
    } else {
      part(frame, `${ipLayer.summary.split(', ').pop() ?? 'IP'} data`, 'data', tr.offset, trEnd - tr.offset, depth);
    }
  }
  trailing(b, frame, datagramEnd, end, wireEnd, ethernet);
}

/** Padding or a trailer after the datagram, then the CRC that no capture holds. */
function trailing(b: Uint8Array, frame: DecodedFrame, from: number, end: number, wireEnd: number, ethernet: boolean): void {
  if (!ethernet) return;
  if (from < wireEnd && from < end) {
    const eth = frame.layers[0];
    const f = ethernetPadding(b, from, end, 0);
    eth.fields.push(f);
    part(frame, f.id === 'eth.padding' ? 'Ethernet padding' : 'Ethernet trailer', 'eth', from, wireEnd - from, 0, f.note);
  }
  frame.encapsulation.push({ name: 'Frame check sequence (CRC)', layer: 'eth', offset: wireEnd, length: 4, captured: 0, depth: 0, note: FCS_NOTE });
}
