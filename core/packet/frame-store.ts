// The recent frames, bounded overall (count and bytes) and per flow, grouped into flows: a TCP or UDP
// conversation, one DHCP client's exchanges, one ARP question, one ping. Each TCP flow is followed by
// a TcpConversation as its segments arrive, so relative numbers and marks survive the eviction of old
// frames. Memory stays bounded whatever the traffic: frames, flows, fragments and pending links all
// have caps, and the oldest go first.
import type { CapturedRecord } from './capture-stream.js';
import type { FrameIndex } from './frame-index.js';
import { ACK, FIN, RST, SYN, TcpConversation, type SegmentMark, type TcpSegmentAnalysis, type TcpState } from './tcp-conversation.js';

export type FlowKind = 'tcp' | 'udp' | 'dhcp' | 'arp' | 'icmp' | 'ip' | 'other';

export interface FlowEnd {
  address: string;
  port?: number;
  mac?: string;
}

export interface StoreLimits {
  /** Frames kept overall. */
  maxFrames: number;
  /** Bytes of frame data kept overall. */
  maxBytes: number;
  /** Frames kept per flow (its first `pinnedPerFlow` stay, later ones go oldest first). */
  maxFramesPerFlow: number;
  /** Flows remembered. */
  maxFlows: number;
  /** A flow's first frames (the handshake) stay while the flow has frames kept at all. */
  pinnedPerFlow: number;
}

export interface StoredFrame {
  id: number;
  timeUs: number;
  linkType: number;
  originalLength: number;
  /** Empty once evicted. */
  data: Buffer;
  index: FrameIndex;
  flow: Flow | undefined;
  /** Sent by the flow's client (true) or server (false). */
  fromClient: boolean;
  tcp?: TcpSegmentAnalysis;
  evicted: boolean;
}

export class Flow {
  session?: string;
  service?: string;
  tls = false;
  /** TLS ClientHello randoms seen (the key log is looked up by them); at most 8. */
  readonly clientRandoms: string[] = [];
  frames = 0;
  bytes = 0;
  /** Frames of this flow not kept: over the capture's budget, or evicted. */
  missed = 0;
  lastUs: number;
  readonly kept: StoredFrame[] = [];
  tcp?: TcpConversation;
  /** DHCP transaction ids seen (hex), at most 16. */
  readonly xids: string[] = [];
  /** ARP: the MAC address the question was answered with. */
  resolvedTo?: string;

  constructor(
    readonly id: string,
    readonly key: string,
    readonly kind: FlowKind,
    readonly client: FlowEnd,
    readonly server: FlowEnd,
    readonly firstUs: number,
  ) {
    this.lastUs = firstUs;
    if (kind === 'tcp') this.tcp = new TcpConversation();
  }

  /** client address|port|server address|port: what session.open events are matched against. */
  get tupleKey(): string | undefined {
    return this.client.port !== undefined && this.server.port !== undefined
      ? tupleKey(this.client.address, this.client.port, this.server.address, this.server.port)
      : undefined;
  }

  get state(): TcpState | undefined {
    return this.tcp?.state;
  }
}

export function tupleKey(clientAddress: string, clientPort: number, serverAddress: string, serverPort: number): string {
  return `${clientAddress}|${clientPort}|${serverAddress}|${serverPort}`;
}

/** A session's address as the capture writes it (no IPv4-mapped IPv6 form). */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address.toLowerCase();
}

const MAX_FRAGMENT_FLOWS = 1024;

export class FrameStore {
  private ring: Array<StoredFrame | undefined>;
  /** Index of the oldest frame in the ring, and how many are there. */
  private head = 0;
  private count = 0;
  private nextId = 1;
  private nextFlow = 1;
  bytes = 0;
  /** Frames ever added; frames evicted to stay within the limits. */
  total = 0;
  evicted = 0;
  /** The current flow for each key (a new TCP connection on the same ports replaces a closed one). */
  private readonly byKey = new Map<string, Flow>();
  /** Every remembered flow by id, least recently active first. */
  private readonly byId = new Map<string, Flow>();
  private readonly byTuple = new Map<string, Flow>();
  private readonly fragments = new Map<string, Flow>();

  constructor(
    readonly limits: StoreLimits,
    /** Server ports of the lab and the service behind each. */
    private readonly servicePorts: ReadonlyMap<number, string> = new Map(),
    /** Called when a flow is first seen (the session linker looks it up). */
    private readonly onFlow: (flow: Flow) => void = () => {},
  ) {
    this.ring = new Array<StoredFrame | undefined>(limits.maxFrames);
  }

  get size(): number {
    return this.count;
  }

  get flowCount(): number {
    return this.byId.size;
  }

  get firstId(): number {
    return this.nextId - this.count;
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  /** Takes a frame: copies its bytes, puts it in its flow and follows its TCP connection. */
  add(record: CapturedRecord, index: FrameIndex): StoredFrame {
    const data = Buffer.allocUnsafe(record.data.length);
    record.data.copy(data);
    while (this.count > 0 && (this.count >= this.limits.maxFrames || this.bytes + data.length > this.limits.maxBytes)) this.evictOldest();
    const frame: StoredFrame = {
      id: this.nextId++,
      timeUs: record.timeUs,
      linkType: record.linkType,
      originalLength: record.originalLength,
      data,
      index,
      flow: undefined,
      fromClient: true,
      evicted: false,
    };
    this.ring[(this.head + this.count) % this.ring.length] = frame;
    this.count++;
    this.bytes += data.length;
    this.total++;
    this.place(frame);
    return frame;
  }

  /** Counts a frame the capture did not keep (over its budget) against its flow, when known. */
  miss(index: FrameIndex, timeUs: number): void {
    const found = this.flowFor(index, timeUs, false);
    if (found) found.flow.missed++;
  }

  get(id: number): StoredFrame | undefined {
    if (id < this.firstId || id > this.lastId) return undefined;
    const f = this.ring[(this.head + (id - this.firstId)) % this.ring.length];
    return f && !f.evicted ? f : undefined;
  }

  /** Frames kept, oldest first, from id `since` (exclusive) on. */
  *frames(since = 0): Generator<StoredFrame> {
    const start = Math.max(0, since - this.firstId + 1);
    for (let i = start; i < this.count; i++) {
      const f = this.ring[(this.head + i) % this.ring.length];
      if (f && !f.evicted) yield f;
    }
  }

  flow(id: string): Flow | undefined {
    return this.byId.get(id);
  }

  /** Flows remembered, least recently active first. */
  flows(): IterableIterator<Flow> {
    return this.byId.values();
  }

  flowByTuple(key: string): Flow | undefined {
    return this.byTuple.get(key);
  }

  clear(): void {
    this.ring = new Array<StoredFrame | undefined>(this.limits.maxFrames);
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
    this.byKey.clear();
    this.byId.clear();
    this.byTuple.clear();
    this.fragments.clear();
  }

  private evictOldest(): void {
    const f = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    if (f && !f.evicted) this.drop(f);
  }

  private drop(f: StoredFrame): void {
    f.evicted = true;
    this.bytes -= f.data.length;
    f.data = EMPTY;
    this.evicted++;
    const flow = f.flow;
    if (!flow) return;
    flow.missed++;
    const i = flow.kept.indexOf(f);
    if (i >= 0) flow.kept.splice(i, 1);
  }

  private place(frame: StoredFrame): void {
    const found = this.flowFor(frame.index, frame.timeUs, true);
    if (!found) return;
    const { flow, fromClient } = found;
    frame.flow = flow;
    frame.fromClient = fromClient;
    flow.frames++;
    flow.bytes += frame.originalLength;
    flow.lastUs = frame.timeUs;
    // Most recently active last: the least recently active flow is evicted first.
    this.byId.delete(flow.id);
    this.byId.set(flow.id, flow);
    const idx = frame.index;
    if (flow.tcp && idx.tcp) frame.tcp = flow.tcp.add(idx.tcp, fromClient, frame.timeUs);
    if (idx.clientRandom && flow.clientRandoms.length < 8 && !flow.clientRandoms.includes(idx.clientRandom)) {
      flow.clientRandoms.push(idx.clientRandom);
      flow.tls = true;
    }
    if (idx.dhcp) {
      const xid = idx.dhcp.xid.toString(16).padStart(8, '0');
      if (!flow.xids.includes(xid) && flow.xids.length < 16) flow.xids.push(xid);
      if (idx.dhcp.op === 2 && idx.ip) flow.server.address = idx.ip.src;
    }
    if (idx.arp?.opcode === 2) flow.resolvedTo = idx.arp.senderMac;
    flow.kept.push(frame);
    if (flow.kept.length > this.limits.maxFramesPerFlow) {
      const victim = flow.kept[Math.min(this.limits.pinnedPerFlow, flow.kept.length - 1)];
      this.drop(victim);
    }
  }

  private newFlow(key: string, kind: FlowKind, client: FlowEnd, server: FlowEnd, timeUs: number): Flow {
    while (this.byId.size >= this.limits.maxFlows) {
      const oldest = this.byId.values().next().value!;
      this.forget(oldest);
    }
    const flow = new Flow(`f${this.nextFlow++}`, key, kind, client, server, timeUs);
    const service = server.port !== undefined ? this.servicePorts.get(server.port) : undefined;
    if (service) flow.service = service;
    this.byKey.set(key, flow);
    this.byId.set(flow.id, flow);
    const t = flow.tupleKey;
    if (t) this.byTuple.set(t, flow);
    this.onFlow(flow);
    return flow;
  }

  private forget(flow: Flow): void {
    for (const f of flow.kept.slice()) this.drop(f);
    this.byId.delete(flow.id);
    if (this.byKey.get(flow.key) === flow) this.byKey.delete(flow.key);
    const t = flow.tupleKey;
    if (t && this.byTuple.get(t) === flow) this.byTuple.delete(t);
  }

  /** The flow a frame belongs to (made when `create`), and whether its client sent the frame. */
  private flowFor(idx: FrameIndex, timeUs: number, create: boolean): { flow: Flow; fromClient: boolean } | undefined {
    const ip = idx.ip;
    if (idx.arp) {
      const a = idx.arp;
      const resolved = a.opcode === 2 ? a.senderIp : a.targetIp;
      const key = `arp|${resolved}`;
      let flow = this.byKey.get(key);
      // A new question after an answer starts a new exchange.
      if (flow && a.opcode === 1 && flow.resolvedTo !== undefined && create) flow = undefined;
      if (!flow) {
        if (!create) return undefined;
        const asker = a.opcode === 1 ? { address: a.senderIp, mac: a.senderMac } : { address: a.targetIp, mac: a.targetMac };
        flow = this.newFlow(key, 'arp', asker, { address: resolved }, timeUs);
      }
      return { flow, fromClient: a.opcode === 1 };
    }
    if (!ip) {
      if (idx.etherType < 0 || !create) return undefined;
      const key = `ether|${idx.etherType}|${idx.srcMac ?? ''}`;
      const flow = this.byKey.get(key) ?? this.newFlow(key, 'other', { address: idx.srcMac ?? '' }, { address: idx.dstMac ?? '' }, timeUs);
      return { flow, fromClient: true };
    }
    if (ip.fragmentOffset > 0) {
      const flow = this.fragments.get(`${ip.src}|${ip.dst}|${ip.id}|${ip.protocol}`);
      if (flow) return { flow, fromClient: flow.client.address === ip.src };
    }
    let found: { flow: Flow; fromClient: boolean } | undefined;
    if (idx.dhcp) found = this.dhcpFlow(idx, timeUs, create);
    else if (idx.tcp || (ip.protocol === 17 && idx.srcPort !== undefined)) found = this.portFlow(idx, timeUs, create);
    else if (idx.icmp) found = this.icmpFlow(idx, timeUs, create);
    if (!found && create) {
      const [a, b] = ip.src < ip.dst ? [ip.src, ip.dst] : [ip.dst, ip.src];
      const key = `ip|${ip.protocol}|${a}|${b}`;
      const flow = this.byKey.get(key) ?? this.newFlow(key, 'ip', { address: ip.src }, { address: ip.dst }, timeUs);
      found = { flow, fromClient: flow.client.address === ip.src };
    }
    if (found && ip.moreFragments && ip.fragmentOffset === 0) {
      if (this.fragments.size >= MAX_FRAGMENT_FLOWS) this.fragments.delete(this.fragments.keys().next().value!);
      this.fragments.set(`${ip.src}|${ip.dst}|${ip.id}|${ip.protocol}`, found.flow);
    }
    return found;
  }

  private portFlow(idx: FrameIndex, timeUs: number, create: boolean): { flow: Flow; fromClient: boolean } | undefined {
    const ip = idx.ip!;
    const tcp = idx.tcp !== undefined;
    const sport = idx.srcPort!;
    const dport = idx.dstPort!;
    const key = canonicalKey(tcp ? 'tcp' : 'udp', ip.src, sport, ip.dst, dport);
    let flow = this.byKey.get(key);
    const flags = idx.tcp?.flags ?? 0;
    const opening = tcp && (flags & (SYN | ACK)) === SYN;
    if (flow && opening && create && (flow.state === 'closed' || flow.state === 'reset' || (flow.tcp?.counts.segments ?? 0) > 2)) {
      // A new connection reusing the ports of an old one.
      const sameSyn = flow.kept.length > 0 && flow.kept[0].index.tcp?.seq === idx.tcp!.seq;
      if (!sameSyn) flow = undefined;
    }
    if (!flow) {
      if (!create) return undefined;
      // The client: whoever sent the SYN; otherwise whoever talks to a lab port.
      let fromClient = true;
      if (!opening) {
        if (this.servicePorts.has(sport) && !this.servicePorts.has(dport)) fromClient = false;
        else if ((flags & (SYN | ACK)) === (SYN | ACK)) fromClient = false;
        else if (!this.servicePorts.has(dport) && (flags & (FIN | RST)) === 0 && sport < dport) fromClient = false;
      }
      const [c, cp, s, sp] = fromClient ? [ip.src, sport, ip.dst, dport] : [ip.dst, dport, ip.src, sport];
      flow = this.newFlow(key, tcp ? 'tcp' : 'udp', { address: c, port: cp }, { address: s, port: sp }, timeUs);
    }
    return { flow, fromClient: flow.client.address === ip.src && flow.client.port === sport };
  }

  private dhcpFlow(idx: FrameIndex, timeUs: number, create: boolean): { flow: Flow; fromClient: boolean } | undefined {
    const d = idx.dhcp!;
    const key = `dhcp|${d.chaddr}`;
    let flow = this.byKey.get(key);
    if (!flow) {
      if (!create) return undefined;
      const ip = idx.ip!;
      const client = { address: d.op === 1 ? ip.src : ip.dst, port: 68, mac: d.chaddr };
      const server = { address: d.op === 2 ? ip.src : ip.dst, port: 67 };
      flow = this.newFlow(key, 'dhcp', client, server, timeUs);
      flow.service = this.servicePorts.get(67) ?? 'dhcp';
    }
    return { flow, fromClient: d.op === 1 };
  }

  private icmpFlow(idx: FrameIndex, timeUs: number, create: boolean): { flow: Flow; fromClient: boolean } | undefined {
    const ip = idx.ip!;
    const icmp = idx.icmp!;
    const q = icmp.quoted;
    if (q && q.srcPort !== undefined && q.dstPort !== undefined) {
      // An error about one of our conversations belongs with it.
      const flow = this.byKey.get(canonicalKey(q.protocol === 6 ? 'tcp' : 'udp', q.src, q.srcPort, q.dst, q.dstPort));
      if (flow) return { flow, fromClient: flow.client.address === ip.src };
    }
    if (icmp.echo) {
      const request = icmp.version === 4 ? icmp.type === 8 : icmp.type === 128;
      const [pinger, target] = request ? [ip.src, ip.dst] : [ip.dst, ip.src];
      const key = `icmp|${pinger}|${target}|${icmp.echo.ident}`;
      let flow = this.byKey.get(key);
      if (!flow) {
        if (!create) return undefined;
        flow = this.newFlow(key, 'icmp', { address: pinger }, { address: target }, timeUs);
      }
      return { flow, fromClient: request };
    }
    if (!create) return undefined;
    const [a, b] = ip.src < ip.dst ? [ip.src, ip.dst] : [ip.dst, ip.src];
    const key = `icmp|${a}|${b}`;
    const flow = this.byKey.get(key) ?? this.newFlow(key, 'icmp', { address: ip.src }, { address: ip.dst }, timeUs);
    return { flow, fromClient: flow.client.address === ip.src };
  }
}

const EMPTY = Buffer.alloc(0);

function canonicalKey(proto: string, a: string, pa: number, b: string, pb: number): string {
  return a < b || (a === b && pa <= pb) ? `${proto}|${a}|${pa}|${b}|${pb}` : `${proto}|${b}|${pb}|${a}|${pa}`;
}

export type { SegmentMark };
