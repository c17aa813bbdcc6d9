// What the capture hands to the live lab: flows, frame lines, one frame decoded in full, a TCP
// connection as a ladder. Plain JSON-ready objects built from the frame store on request.
import { ARP_OPCODES } from './arp.js';
import { decodeFrame } from './decode-frame.js';
import { hexOf } from './field-table.js';
import type { Flow, StoredFrame } from './frame-store.js';
import { ICMP_TYPES, ICMPV6_TYPES } from './icmp.js';
import { DHCP_MESSAGE_TYPES } from './payload.js';
import { describeSegment, labelText } from './tcp-conversation.js';
import type { FlowSummary, FrameSummary, FrameDetail, LadderStep, TcpLadder } from './view-types.js';
export type { FlowSummary, FrameSummary, FrameDetail, LadderStep, TcpLadder } from './view-types.js';

const ms = (us: number): number => us / 1000;

export function flowTitle(flow: Flow): string {
  const c = flow.client;
  const s = flow.server;
  const svc = flow.service ? ` (${flow.service})` : '';
  switch (flow.kind) {
    case 'tcp':
    case 'udp':
      return `${flow.kind.toUpperCase()} ${endpoint(c.address, c.port)} -> ${endpoint(s.address, s.port)}${svc}`;
    case 'dhcp':
      return `DHCP client ${c.mac ?? c.address}`;
    case 'arp':
      return `ARP: who has ${s.address}?${flow.resolvedTo ? ` ${flow.resolvedTo}` : ''}`;
    case 'icmp':
      return `ICMP ${c.address} -> ${s.address}`;
    default:
      return `${c.address} -> ${s.address}`;
  }
}

function endpoint(address: string, port: number | undefined): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? a : `${a}:${port}`;
}

export function flowSummary(flow: Flow): FlowSummary {
  const out: FlowSummary = {
    id: flow.id,
    kind: flow.kind,
    client: { ...flow.client },
    server: { ...flow.server },
    tls: flow.tls,
    title: flowTitle(flow),
    firstTime: ms(flow.firstUs),
    lastTime: ms(flow.lastUs),
    frames: flow.frames,
    bytes: flow.bytes,
    kept: flow.kept.length,
    missed: flow.missed,
  };
  if (flow.service) out.service = flow.service;
  if (flow.session) out.session = flow.session;
  if (flow.state) out.state = flow.state;
  if (flow.tcp) out.notCaptured = flow.tcp.notCaptured();
  if (flow.kind === 'dhcp') out.xids = [...(flow.xids ?? [])];
  if (flow.kind === 'arp') out.arp = { address: flow.server.address, ...(flow.resolvedTo ? { resolvedTo: flow.resolvedTo } : {}) };
  return out;
}

/** "40000 -> 80 [" for the last port pairs seen (direct-mapped): the ports' text is not written per frame. */
const PAIR_SLOTS = 256;
const pairKey = new Float64Array(PAIR_SLOTS).fill(-1);
const pairText = new Array<string>(PAIR_SLOTS).fill('');

function portPairText(src: number, dst: number): string {
  const key = src * 65536 + dst;
  const slot = (src ^ (dst * 31)) & (PAIR_SLOTS - 1);
  if (pairKey[slot] !== key) {
    pairKey[slot] = key;
    pairText[slot] = `${src} -> ${dst} [`;
  }
  return pairText[slot];
}

/** The Info line from the quick look (no full decode): cheap enough for every frame event. */
export function frameInfo(f: StoredFrame, portNames: ReadonlyMap<number, string>): { protocol: string; info: string; source: string; destination: string } {
  const x = f.index;
  const source = x.ip?.src ?? x.arp?.senderIp ?? x.srcMac ?? '';
  const destination = x.ip?.dst ?? (x.arp ? (x.arp.opcode === 1 ? 'broadcast' : x.arp.targetIp) : (x.dstMac ?? ''));
  if (x.arp) {
    const a = x.arp;
    const info =
      a.opcode === 1
        ? `Who has ${a.targetIp}? Tell ${a.senderIp}`
        : a.opcode === 2
          ? `${a.senderIp} is at ${a.senderMac}`
          : `ARP ${ARP_OPCODES[a.opcode] ?? a.opcode}`;
    return { protocol: 'ARP', info, source: a.senderIp, destination };
  }
  if (x.dhcp) {
    const type =
      x.dhcp.messageType !== undefined
        ? (DHCP_MESSAGE_TYPES[x.dhcp.messageType] ?? `type ${x.dhcp.messageType}`)
        : x.dhcp.op === 1
          ? 'BOOTREQUEST'
          : 'BOOTREPLY';
    return { protocol: 'DHCP', info: `DHCP ${type} xid 0x${x.dhcp.xid.toString(16).padStart(8, '0')} client ${x.dhcp.chaddr}`, source, destination };
  }
  const seg = f.segment;
  if (x.tcp && seg) {
    const payload = x.tcp.dataLength > 0 ? (x.clientRandom ? 'TLS' : (portNames.get(x.dstPort!) ?? portNames.get(x.srcPort!))) : undefined;
    const ports = portPairText(x.srcPort!, x.dstPort!);
    const prefix = seg.marks.length > 0 ? `[${seg.marks.join(', ')}] ${ports}` : ports;
    return { protocol: payload ?? 'TCP', info: labelText(prefix, seg, true), source, destination };
  }
  if (x.tcp) return { protocol: 'TCP', info: `${x.srcPort} -> ${x.dstPort} seq ${x.tcp.seq}`, source, destination };
  if (x.srcPort !== undefined && x.ip?.protocol === 17) {
    return {
      protocol: portNames.get(x.dstPort!) ?? portNames.get(x.srcPort) ?? 'UDP',
      info: `${x.srcPort} -> ${x.dstPort} len ${x.payloadLength ?? 0}`,
      source,
      destination,
    };
  }
  if (x.icmp) {
    const v4 = x.icmp.version === 4;
    const name = (v4 ? ICMP_TYPES : ICMPV6_TYPES)[x.icmp.type] ?? `type ${x.icmp.type}`;
    const echo = x.icmp.echo ? ` id ${x.icmp.echo.ident} seq ${x.icmp.echo.seq}` : '';
    const about = x.icmp.quoted ? ` about ${x.icmp.quoted.src}:${x.icmp.quoted.srcPort ?? ''} -> ${x.icmp.quoted.dst}:${x.icmp.quoted.dstPort ?? ''}` : '';
    return { protocol: v4 ? 'ICMP' : 'ICMPv6', info: `${name} (code ${x.icmp.code})${echo}${about}`, source, destination };
  }
  if (x.ip) {
    const frag =
      x.ip.fragmentOffset > 0 || x.ip.moreFragments ? ` fragment at byte ${x.ip.fragmentOffset}${x.ip.moreFragments ? ', more follow' : ', last'}` : '';
    return { protocol: x.ip.version === 4 ? 'IPv4' : 'IPv6', info: `protocol ${x.ip.protocol}${frag}`, source, destination };
  }
  return { protocol: 'Ethernet', info: `type 0x${x.etherType.toString(16).padStart(4, '0')}`, source, destination };
}

export function frameSummary(f: StoredFrame, portNames: ReadonlyMap<number, string>): FrameSummary {
  const i = frameInfo(f, portNames);
  const out: FrameSummary = { id: f.id, time: ms(f.timeUs), length: f.originalLength, captured: f.capturedLength, ...i };
  if (f.flow) {
    out.flow = f.flow.id;
    out.from = f.fromClient ? 'client' : 'server';
    if (f.flow.session) out.session = f.flow.session;
    if (f.flow.service) out.service = f.flow.service;
  }
  const seg = f.segment;
  if (seg && seg.marks.length > 0) out.marks = [...seg.marks];
  return out;
}

export function frameDetail(f: StoredFrame, portNames: ReadonlyMap<number, string>): FrameDetail {
  const data = f.data;
  const d = decodeFrame(data, f.linkType, f.originalLength, { ports: portNames, timeUs: f.timeUs });
  const out: FrameDetail = { ...d, id: f.id, time: ms(f.timeUs), hex: hexOf(data, 0, data.length) };
  if (f.flow) {
    out.flow = f.flow.id;
    if (f.flow.session) out.session = f.flow.session;
    if (f.flow.service) out.service = f.flow.service;
  }
  const seg = f.segment;
  if (seg) out.tcp = describeSegment(seg);
  return out;
}

/** The ladder of a TCP flow from its kept frames (FrameStore.keptFrames). */
export function tcpLadder(flow: Flow, frames: readonly StoredFrame[]): TcpLadder | undefined {
  if (!flow.tcp || flow.client.port === undefined || flow.server.port === undefined) return undefined;
  const steps: LadderStep[] = [];
  for (const f of frames) {
    const seg = f.segment;
    if (seg) steps.push({ ...describeSegment(seg), frame: f.id, t: ms(f.timeUs - flow.firstUs) });
  }
  const out: TcpLadder = {
    flow: flow.id,
    client: { address: flow.client.address, port: flow.client.port },
    server: { address: flow.server.address, port: flow.server.port },
    state: flow.tcp.state,
    windowScaling: flow.tcp.windowScaling,
    counts: { ...flow.tcp.counts },
    steps,
    missing: flow.missed,
  };
  if (flow.session) out.session = flow.session;
  if (flow.service) out.service = flow.service;
  if (flow.tcp.handshakeRttUs !== undefined) out.handshakeRttMs = ms(flow.tcp.handshakeRttUs);
  return out;
}
