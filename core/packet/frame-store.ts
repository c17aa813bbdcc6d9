// The recent frames, bounded overall (count and bytes) and per flow, grouped into flows: a TCP or UDP
// conversation, one DHCP client's exchanges, one ARP question, one ping. Each TCP flow is followed by
// a TcpConversation as its segments arrive, so relative numbers and marks survive the eviction of old
// frames. Memory stays bounded whatever the traffic: frames, flows, fragments and pending links all
// have caps, and the oldest go first.
import { LiveList, type LiveLinks } from '../live-list.js';
import { BoundedMap } from './bounded-map.js';
import type { CapturedRecord } from './capture-stream.js';
import { FrameIndex, indexFrame } from './frame-index.js';
import { ipv4Value, PortFlowTable } from './flow-table.js';
import {
  ACK,
  FIN,
  markBits,
  MARKS_BY_BITS,
  NO_MARKS,
  RST,
  SYN,
  TcpConversation,
  type SegmentMark,
  type SegmentPhase,
  type StepKind,
  type TcpSegment,
  type TcpState,
} from './tcp-conversation.js';
import type { FlowKind, FlowEnd } from './view-types.js';
export type { FlowKind, FlowEnd } from './view-types.js';

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

/**
 * A frame as the store hands it out: its quick look (it is its own FrameIndex), its TCP analysis (its
 * own TcpSegment), its flow and its bytes. The store itself keeps frames as columns of typed arrays
 * (no object per kept frame for the garbage collector to carry); a StoredFrame is made when a frame
 * is asked for, and the one `add` returns is reused by the next `add`.
 */
export class StoredFrame extends FrameIndex implements TcpSegment {
  id = 0;
  timeUs = 0;
  linkType = 1;
  originalLength = 0;
  /** Bytes captured (and kept). */
  capturedLength = 0;
  private buffer: Buffer = EMPTY;
  private offset = 0;
  flow: Flow | undefined = undefined;
  /** Sent by the flow's client (true) or server (false). */
  fromClient = true;
  // TcpSegment, filled in when the flow's TCP analysis took the frame (`segment`).
  analysed = false;
  relSeq = 0;
  relAck = 0;
  nextRelSeq = 0;
  windowBytes = 0;
  windowScaled = false;
  marks: readonly SegmentMark[] = NO_MARKS;
  phase: SegmentPhase = 'data';
  step: StepKind = 'ack';

  /** The quick look (the frame itself). */
  get index(): FrameIndex {
    return this;
  }

  /** The TCP analysis of this segment, when it is one. */
  get segment(): TcpSegment | undefined {
    return this.analysed ? this : undefined;
  }

  /** The captured bytes. */
  get data(): Buffer {
    return this.buffer.subarray(this.offset, this.offset + this.capturedLength);
  }

  setBytes(buffer: Buffer, offset: number, length: number): void {
    this.buffer = buffer;
    this.offset = offset;
    this.capturedLength = length;
  }
}

const PHASES: readonly SegmentPhase[] = ['handshake', 'data', 'close', 'reset'];
const STEPS: readonly StepKind[] = [
  'syn',
  'syn-again',
  'syn-ack',
  'handshake-ack',
  'fin-first',
  'fin-second',
  'fin-with-data',
  'fin-ack-first',
  'fin-ack-last',
  'data',
  'ack',
  'no-ack',
  'reset',
];
const LIVE = 1;
const FROM_CLIENT = 2;
const ANALYSED = 4;
const SCALED = 8;

export class Flow implements LiveLinks<Flow> {
  liveNext: Flow | undefined = undefined;
  livePrev: Flow | undefined = undefined;
  liveIn: object | undefined = undefined;
  session?: string;
  service?: string;
  tls = false;
  /** Remembered and the current flow of its key (an old connection on the same ports is not). */
  current = true;
  /** TLS ClientHello randoms seen (the key log is looked up by them); at most 8. */
  clientRandoms: string[] | undefined = undefined;
  frames = 0;
  bytes = 0;
  /** Frames of this flow not kept: over the capture's budget, or evicted. */
  missed = 0;
  lastUs: number;
  /** Ids of the frames kept, oldest first (its first `pinnedPerFlow` stay while it has any). */
  readonly kept: number[] = [];
  tcp?: TcpConversation;
  /** DHCP transaction ids seen (hex), at most 16. */
  xids: string[] | undefined = undefined;
  /** ARP: the MAC address the question was answered with. */
  resolvedTo?: string;
  /** TCP: the first segment's sequence number, and whether that segment was the opening SYN. */
  firstSeq = -1;
  startedWithSyn = false;
  /**
   * A TCP or UDP flow over IPv4 is found by numbers (`key` is then ''): its client's and server's
   * addresses as numbers, and the next flow in its chain of the store's table.
   */
  clientNum = -1;
  serverNum = -1;
  tableNext: Flow | undefined = undefined;
  /** The number in the flow's id. */
  num = 0;

  constructor(
    readonly id: string,
    /** The flow's key in the store's string-keyed map ('' when it is in the numeric table). */
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

const EMPTY = Buffer.alloc(0);
const BLANK = new FrameIndex();
const MAX_FRAGMENT_FLOWS = 1024;
/** Slots of the recent-flow cache (a power of two). */
const FLOW_CACHE = 256;
/** Frame bytes are written into chunks of this size (or maxBytes, when smaller). */
const CHUNK_BYTES = 4 << 20;

export class FrameStore {
  private nextId = 1;
  /** Live frames are the ids firstId..nextId-1 (some may be evicted from their flow already). */
  private oldest = 1;
  private nextFlow = 1;
  bytes = 0;
  /** Frames kept now (not evicted). */
  size = 0;
  /** Frames ever added; frames evicted to stay within the limits. */
  total = 0;
  evicted = 0;
  /** The current flow for each key (a new TCP connection on the same ports replaces a closed one). */
  private readonly byKey = new Map<string, Flow>();
  /** The current TCP and UDP flows over IPv4 (the most common kind) are not in `byKey` but here. */
  private readonly table: PortFlowTable<Flow>;
  /** Every remembered flow by the number of its id. */
  private readonly byId = new Map<number, Flow>();
  /** The same flows, least recently active first (the first to be forgotten). */
  private readonly lru = new LiveList<Flow>();
  private readonly fragments = new BoundedMap<string, Flow>(MAX_FRAGMENT_FLOWS);
  private readonly flowCache = new Array<Flow | undefined>(FLOW_CACHE);
  /**
   * The frames' bytes: a ring of large chunks written in capture order, so keeping a frame allocates
   * nothing (a Buffer per frame would make the garbage collector run far more often). Moving on to a
   * chunk first evicts the frames still in it: the oldest ones.
   */
  private readonly chunks: Buffer[] = [];
  private readonly chunkViews: Uint8Array[] = [];
  /** Frames not yet passed by `oldest` in each chunk (kept or not): a chunk at 0 can be written over. */
  private readonly chunkFrames: Int32Array;
  private readonly chunkSize: number;
  private readonly chunkCount: number;
  private chunk = 0;
  private chunkPos = 0;
  // One slot per kept frame, slot = (id - 1) % maxFrames: typed arrays, no object per frame.
  private readonly cap: number;
  private readonly timeCol: Float64Array;
  private readonly origLenCol: Uint32Array;
  private readonly capLenCol: Uint32Array;
  private readonly offsetCol: Uint32Array;
  private readonly chunkCol: Uint16Array;
  private readonly linkCol: Uint16Array;
  private readonly stateCol: Uint8Array;
  private readonly flowCol: Array<Flow | undefined>;
  private readonly relSeqCol: Float64Array;
  private readonly relAckCol: Float64Array;
  private readonly nextRelSeqCol: Float64Array;
  private readonly windowBytesCol: Float64Array;
  private readonly marksCol: Uint8Array;
  private readonly phaseCol: Uint8Array;
  private readonly stepCol: Uint8Array;
  /** The frame `add` fills and returns (valid until the next `add`). */
  private readonly scratch = new StoredFrame();

  constructor(
    readonly limits: StoreLimits,
    /** Server ports of the lab and the service behind each. */
    private readonly servicePorts: ReadonlyMap<number, string> = new Map(),
    /** Called when a flow is first seen (the session linker looks it up). */
    private readonly onFlow: (flow: Flow) => void = () => {},
  ) {
    this.table = new PortFlowTable<Flow>(limits.maxFlows);
    this.chunkSize = Math.min(CHUNK_BYTES, limits.maxBytes);
    this.chunkCount = Math.max(1, Math.floor(limits.maxBytes / this.chunkSize));
    this.chunkFrames = new Int32Array(this.chunkCount);
    const n = (this.cap = Math.max(1, limits.maxFrames));
    this.timeCol = new Float64Array(n);
    this.origLenCol = new Uint32Array(n);
    this.capLenCol = new Uint32Array(n);
    this.offsetCol = new Uint32Array(n);
    this.chunkCol = new Uint16Array(n);
    this.linkCol = new Uint16Array(n);
    this.stateCol = new Uint8Array(n);
    this.flowCol = new Array<Flow | undefined>(n);
    this.relSeqCol = new Float64Array(n);
    this.relAckCol = new Float64Array(n);
    this.nextRelSeqCol = new Float64Array(n);
    this.windowBytesCol = new Float64Array(n);
    this.marksCol = new Uint8Array(n);
    this.phaseCol = new Uint8Array(n);
    this.stepCol = new Uint8Array(n);
  }

  get flowCount(): number {
    return this.byId.size;
  }

  get firstId(): number {
    return this.oldest;
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  private slot(id: number): number {
    return (id - 1) % this.cap;
  }

  /**
   * Takes a frame: copies its bytes into the chunk ring, takes its quick look, puts it in its flow and
   * follows its TCP connection. Returns the frame, in an object the next `add` reuses.
   */
  add(record: CapturedRecord): StoredFrame {
    // The frame as bytes src[from..to): the reader's own view when it has one (no Buffer per frame).
    let src = record.view;
    let from = 0;
    let to: number;
    if (src !== undefined) {
      from = record.start ?? 0;
      to = record.end ?? src.length;
    } else {
      const d = record.data;
      src = new Uint8Array(d.buffer, d.byteOffset, d.length);
      to = d.length;
    }
    const len = Math.min(to - from, this.chunkSize);
    if (this.chunkPos + len > this.chunkSize) this.nextChunk();
    while (this.nextId - this.oldest >= this.cap) this.evictOldest();
    let buffer = this.chunks[this.chunk];
    if (buffer === undefined) {
      buffer = this.chunks[this.chunk] = Buffer.allocUnsafeSlow(this.chunkSize);
      this.chunkViews[this.chunk] = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    }
    // A plain Uint8Array copy (Buffer#copy and Buffer#set from a Buffer take slower paths until warm).
    const view = this.chunkViews[this.chunk];
    view.set(src.subarray(from, from + len), this.chunkPos);
    const id = this.nextId++;
    const i = this.slot(id);
    const f = this.reset(this.scratch);
    f.id = id;
    f.timeUs = record.timeUs;
    f.linkType = record.linkType;
    f.originalLength = record.originalLength;
    f.setBytes(buffer, this.chunkPos, len);
    // The quick look reads the copy in place (no view per frame), unless the chunk cut the frame short.
    if (len === to - from) indexFrame(view, record.linkType, f, this.chunkPos, this.chunkPos + len);
    else indexFrame(src, record.linkType, f, from, to);
    this.timeCol[i] = record.timeUs;
    this.origLenCol[i] = record.originalLength;
    this.capLenCol[i] = len;
    this.offsetCol[i] = this.chunkPos;
    this.chunkCol[i] = this.chunk;
    this.chunkFrames[this.chunk]++;
    this.linkCol[i] = record.linkType;
    this.chunkPos += len;
    this.bytes += len;
    this.size++;
    this.total++;
    this.place(f, i);
    return f;
  }

  /**
   * Moves on to another chunk: one whose frames are all gone already (the frame count or the flows'
   * limits evicted them), else a new one while there are fewer than the limit allows, else the one
   * holding the oldest frames, evicting them. So a lab keeping fewer bytes than `maxBytes` touches
   * only the chunks it needs (memory the kernel must map on first use), not every chunk in turn.
   */
  private nextChunk(): void {
    let next = -1;
    for (let c = 0; c < this.chunks.length; c++) {
      if (c !== this.chunk && this.chunkFrames[c] === 0) {
        next = c;
        break;
      }
    }
    if (next < 0 && this.chunks.length < this.chunkCount) next = this.chunks.length;
    if (next < 0) {
      // Every chunk holds frames: the one with the oldest (a chunk's frames are consecutive) goes.
      next = this.chunkCol[this.slot(this.oldest)];
      while (this.oldest < this.nextId && this.chunkFrames[next] > 0) this.evictOldest();
    }
    this.chunk = next;
    this.chunkPos = 0;
  }

  /** Puts a reused frame object back to its empty state. */
  private reset(f: StoredFrame): StoredFrame {
    const blank = BLANK;
    f.etherType = blank.etherType;
    f.vlan = f.srcMac = f.dstMac = undefined;
    f.hasIp = f.hasTcp = false;
    f.srcPort = f.dstPort = undefined;
    f.options = f.icmp = f.arp = f.dhcp = f.clientRandom = f.payloadOffset = f.payloadLength = undefined;
    f.flow = undefined;
    f.fromClient = true;
    f.analysed = false;
    f.marks = NO_MARKS;
    return f;
  }

  /** Whether the frame is kept (not evicted). */
  has(id: number): boolean {
    return id >= this.oldest && id < this.nextId && (this.stateCol[this.slot(id)] & LIVE) !== 0;
  }

  /** A kept frame, made into a StoredFrame (its quick look taken again from its bytes). */
  get(id: number): StoredFrame | undefined {
    if (!this.has(id)) return undefined;
    const i = this.slot(id);
    const f = new StoredFrame();
    f.id = id;
    f.timeUs = this.timeCol[i];
    f.linkType = this.linkCol[i];
    f.originalLength = this.origLenCol[i];
    const chunk = this.chunkCol[i];
    const offset = this.offsetCol[i];
    f.setBytes(this.chunks[chunk], offset, this.capLenCol[i]);
    indexFrame(this.chunkViews[chunk], f.linkType, f, offset, offset + this.capLenCol[i]);
    const state = this.stateCol[i];
    f.flow = this.flowCol[i];
    f.fromClient = (state & FROM_CLIENT) !== 0;
    if (state & ANALYSED) {
      f.analysed = true;
      f.relSeq = this.relSeqCol[i];
      f.relAck = this.relAckCol[i];
      f.nextRelSeq = this.nextRelSeqCol[i];
      f.windowBytes = this.windowBytesCol[i];
      f.windowScaled = (state & SCALED) !== 0;
      f.marks = MARKS_BY_BITS[this.marksCol[i]];
      f.phase = PHASES[this.phaseCol[i]];
      f.step = STEPS[this.stepCol[i]];
    }
    return f;
  }

  /** Frames kept, oldest first, from id `since` (exclusive) on. */
  *frames(since = 0): Generator<StoredFrame> {
    for (let id = Math.max(since + 1, this.oldest); id < this.nextId; id++) {
      const f = this.get(id);
      if (f) yield f;
    }
  }

  /** A flow's kept frames, oldest first. */
  keptFrames(flow: Flow): StoredFrame[] {
    const out: StoredFrame[] = [];
    for (const id of flow.kept) {
      const f = this.get(id);
      if (f) out.push(f);
    }
    return out;
  }

  flow(id: string): Flow | undefined {
    const flow = /^f[1-9]\d{0,15}$/.test(id) ? this.byId.get(Number(id.slice(1))) : undefined;
    return flow?.id === id ? flow : undefined;
  }

  /** Flows remembered, least recently active first. */
  flows(): Flow[] {
    return this.lru.toArray();
  }

  /**
   * The current TCP or UDP flow (the newer, if both) whose client and server are the four-tuple `key`
   * (client address|port|server address|port, as `tupleKey` writes it).
   */
  flowByTuple(key: string): Flow | undefined {
    const parts = key.split('|');
    if (parts.length !== 4) return undefined;
    const [ca, cpText, sa, spText] = parts;
    const cp = Number(cpText);
    const sp = Number(spText);
    if (!Number.isInteger(cp) || !Number.isInteger(sp)) return undefined;
    let found: Flow | undefined;
    for (const kind of ['tcp', 'udp'] as const) {
      const f = this.portFlowOf(kind, ca, cp, sa, sp);
      if (f && f.client.address === ca && f.client.port === cp && f.server.address === sa && f.server.port === sp && (!found || f.num > found.num)) found = f;
    }
    return found;
  }

  /** The current TCP or UDP flow between two endpoints given as text (either direction). */
  private portFlowOf(kind: 'tcp' | 'udp', a: string, pa: number, b: string, pb: number): Flow | undefined {
    const an = ipv4Value(a);
    const bn = ipv4Value(b);
    return an >= 0 && bn >= 0 ? this.table.get(kind, an, pa, bn, pb) : this.byKey.get(canonicalKey(kind, a, pa, b, pb));
  }

  clear(): void {
    while (this.oldest < this.nextId) this.evictOldest();
    this.chunk = 0;
    this.chunkPos = 0;
    this.byKey.clear();
    this.table.clear();
    this.byId.clear();
    for (const f of this.lru.toArray()) {
      f.current = false;
      this.lru.delete(f);
    }
    this.fragments.clear();
    this.flowCache.fill(undefined);
  }

  private evictOldest(): void {
    const id = this.oldest++;
    const i = this.slot(id);
    this.chunkFrames[this.chunkCol[i]]--;
    if (this.stateCol[i] & LIVE) this.drop(id, i);
    this.flowCol[i] = undefined;
  }

  private drop(id: number, i: number): void {
    this.stateCol[i] &= ~LIVE;
    this.bytes -= this.capLenCol[i];
    this.size--;
    this.evicted++;
    const flow = this.flowCol[i];
    if (!flow) return;
    flow.missed++;
    // The global ring evicts in capture order, so the frame is almost always its flow's oldest.
    if (flow.kept[0] === id) flow.kept.shift();
    else {
      const k = flow.kept.indexOf(id);
      if (k >= 0) flow.kept.splice(k, 1);
    }
  }

  private place(frame: StoredFrame, i: number): void {
    const flow = this.flowFor(frame, frame.timeUs, true);
    if (!flow) {
      this.stateCol[i] = LIVE;
      this.flowCol[i] = undefined;
      return;
    }
    const fromClient = this.foundFromClient;
    frame.flow = flow;
    frame.fromClient = fromClient;
    flow.frames++;
    flow.bytes += frame.originalLength;
    flow.lastUs = frame.timeUs;
    // Most recently active last: the least recently active flow is forgotten first.
    if (flow.liveNext !== undefined) {
      this.lru.delete(flow);
      this.lru.add(flow);
    }
    let state = LIVE | (fromClient ? FROM_CLIENT : 0);
    if (flow.tcp && frame.hasTcp) {
      flow.tcp.add(frame, fromClient, frame.timeUs, frame);
      state |= ANALYSED | (frame.windowScaled ? SCALED : 0);
      this.relSeqCol[i] = frame.relSeq;
      this.relAckCol[i] = frame.relAck;
      this.nextRelSeqCol[i] = frame.nextRelSeq;
      this.windowBytesCol[i] = frame.windowBytes;
      this.marksCol[i] = frame.marks.length === 0 ? 0 : markBits(frame.marks);
      this.phaseCol[i] = PHASES.indexOf(frame.phase);
      this.stepCol[i] = STEPS.indexOf(frame.step);
    }
    this.stateCol[i] = state;
    this.flowCol[i] = flow;
    if (frame.clientRandom && (flow.clientRandoms ??= []).length < 8 && !flow.clientRandoms.includes(frame.clientRandom)) {
      flow.clientRandoms.push(frame.clientRandom);
      flow.tls = true;
    }
    if (frame.dhcp) {
      const xid = frame.dhcp.xid.toString(16).padStart(8, '0');
      const xids = (flow.xids ??= []);
      if (!xids.includes(xid) && xids.length < 16) xids.push(xid);
      if (frame.dhcp.op === 2 && frame.hasIp) flow.server.address = frame.src;
    }
    if (frame.arp?.opcode === 2) flow.resolvedTo = frame.arp.senderMac;
    flow.kept.push(frame.id);
    if (flow.kept.length > this.limits.maxFramesPerFlow) {
      const victim = flow.kept[Math.min(this.limits.pinnedPerFlow, flow.kept.length - 1)];
      this.drop(victim, this.slot(victim));
    }
  }

  /**
   * A new flow, the current one of its key from now on. `key` '' puts a TCP or UDP flow over IPv4 in
   * the numeric table instead (`clientNum`, `serverNum`: its addresses as numbers).
   */
  private newFlow(key: string, kind: FlowKind, client: FlowEnd, server: FlowEnd, timeUs: number, clientNum = -1, serverNum = -1): Flow {
    while (this.byId.size >= this.limits.maxFlows && this.lru.first) this.forget(this.lru.first);
    const num = this.nextFlow++;
    const flow = new Flow(`f${num}`, key, kind, client, server, timeUs);
    flow.num = num;
    const service = server.port !== undefined ? this.servicePorts.get(server.port) : undefined;
    if (service) flow.service = service;
    if (key === '') {
      flow.clientNum = clientNum;
      flow.serverNum = serverNum;
      const replaced = this.table.get(kind, clientNum, client.port ?? 0, serverNum, server.port ?? 0);
      if (replaced) {
        replaced.current = false;
        this.table.delete(replaced);
      }
      this.table.add(flow);
    } else {
      const replaced = this.byKey.get(key);
      if (replaced) replaced.current = false;
      this.byKey.set(key, flow);
    }
    this.byId.set(num, flow);
    this.lru.add(flow);
    this.onFlow(flow);
    return flow;
  }

  private forget(flow: Flow): void {
    for (const id of flow.kept.slice()) this.drop(id, this.slot(id));
    this.byId.delete(flow.num);
    this.lru.delete(flow);
    if (flow.key === '') {
      if (flow.current) this.table.delete(flow);
    } else if (this.byKey.get(flow.key) === flow) this.byKey.delete(flow.key);
    flow.current = false;
  }

  /** Whether the flow `flowFor` found last was sent by its client (a slot, not an object per frame). */
  private foundFromClient = true;

  private found(flow: Flow, fromClient: boolean): Flow {
    this.foundFromClient = fromClient;
    return flow;
  }

  /** The flow a frame belongs to (made when `create`); whether its client sent the frame is in `foundFromClient`. */
  private flowFor(idx: FrameIndex, timeUs: number, create: boolean): Flow | undefined {
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
      return this.found(flow, a.opcode === 1);
    }
    if (!ip) {
      if (idx.etherType < 0 || !create) return undefined;
      const key = `ether|${idx.etherType}|${idx.srcMac ?? ''}`;
      const flow = this.byKey.get(key) ?? this.newFlow(key, 'other', { address: idx.srcMac ?? '' }, { address: idx.dstMac ?? '' }, timeUs);
      return this.found(flow, true);
    }
    if (ip.fragmentOffset > 0) {
      const flow = this.fragments.get(`${ip.src}|${ip.dst}|${ip.ipId}|${ip.protocol}`);
      if (flow) return this.found(flow, flow.client.address === ip.src);
    }
    let found: Flow | undefined;
    if (idx.dhcp) found = this.dhcpFlow(idx, timeUs, create);
    else if (idx.tcp || (ip.protocol === 17 && idx.srcPort !== undefined)) found = this.portFlow(idx, timeUs, create);
    else if (idx.icmp) found = this.icmpFlow(idx, timeUs, create);
    if (!found && create) {
      const [a, b] = ip.src < ip.dst ? [ip.src, ip.dst] : [ip.dst, ip.src];
      const key = `ip|${ip.protocol}|${a}|${b}`;
      const flow = this.byKey.get(key) ?? this.newFlow(key, 'ip', { address: ip.src }, { address: ip.dst }, timeUs);
      found = this.found(flow, flow.client.address === ip.src);
    }
    if (found && ip.moreFragments && ip.fragmentOffset === 0) {
      this.fragments.set(`${ip.src}|${ip.dst}|${ip.ipId}|${ip.protocol}`, found);
    }
    return found;
  }

  private portFlow(idx: FrameIndex, timeUs: number, create: boolean): Flow | undefined {
    const ip = idx.ip!;
    const tcp = idx.tcp !== undefined;
    const sport = idx.srcPort!;
    const dport = idx.dstPort!;
    // Most frames belong to a flow seen a moment ago: a small cache by ports skips building the key.
    const slot = (sport ^ (dport * 31)) & (FLOW_CACHE - 1);
    const cached = this.flowCache[slot];
    const flags = idx.tcp?.flags ?? 0;
    if (
      cached !== undefined &&
      cached.current &&
      (cached.kind === 'tcp') === tcp &&
      (flags & SYN) === 0 &&
      ((cached.client.port === sport && cached.server.port === dport && cached.client.address === ip.src && cached.server.address === ip.dst) ||
        (cached.client.port === dport && cached.server.port === sport && cached.client.address === ip.dst && cached.server.address === ip.src))
    ) {
      return this.found(cached, cached.client.address === ip.src && cached.client.port === sport);
    }
    // Over IPv4 the flow is found by numbers; over IPv6 by its key.
    const v4 = ip.srcNum >= 0 && ip.dstNum >= 0;
    const key = v4 ? '' : canonicalKey(tcp ? 'tcp' : 'udp', ip.src, sport, ip.dst, dport);
    let flow = v4 ? this.table.get(tcp ? 'tcp' : 'udp', ip.srcNum, sport, ip.dstNum, dport) : this.byKey.get(key);
    const opening = tcp && (flags & (SYN | ACK)) === SYN;
    if (flow && opening && create && (flow.state === 'closed' || flow.state === 'reset' || (flow.tcp?.counts.segments ?? 0) > 2)) {
      // A new connection reusing the ports of an old one.
      const sameSyn = flow.firstSeq === idx.seq;
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
      flow = fromClient
        ? this.newFlow(key, tcp ? 'tcp' : 'udp', { address: ip.src, port: sport }, { address: ip.dst, port: dport }, timeUs, ip.srcNum, ip.dstNum)
        : this.newFlow(key, tcp ? 'tcp' : 'udp', { address: ip.dst, port: dport }, { address: ip.src, port: sport }, timeUs, ip.dstNum, ip.srcNum);
      if (tcp) {
        flow.firstSeq = idx.seq;
        flow.startedWithSyn = opening;
      }
    }
    this.flowCache[slot] = flow;
    return this.found(flow, flow.client.address === ip.src && flow.client.port === sport);
  }

  private dhcpFlow(idx: FrameIndex, timeUs: number, create: boolean): Flow | undefined {
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
    return this.found(flow, d.op === 1);
  }

  private icmpFlow(idx: FrameIndex, timeUs: number, create: boolean): Flow | undefined {
    const ip = idx.ip!;
    const icmp = idx.icmp!;
    const q = icmp.quoted;
    if (q && q.srcPort !== undefined && q.dstPort !== undefined) {
      // An error about one of our conversations belongs with it.
      const flow = this.portFlowOf(q.protocol === 6 ? 'tcp' : 'udp', q.src, q.srcPort, q.dst, q.dstPort);
      if (flow) return this.found(flow, flow.client.address === ip.src);
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
      return this.found(flow, request);
    }
    if (!create) return undefined;
    const [a, b] = ip.src < ip.dst ? [ip.src, ip.dst] : [ip.dst, ip.src];
    const key = `icmp|${a}|${b}`;
    const flow = this.byKey.get(key) ?? this.newFlow(key, 'icmp', { address: ip.src }, { address: ip.dst }, timeUs);
    return this.found(flow, flow.client.address === ip.src);
  }
}

function canonicalKey(proto: string, a: string, pa: number, b: string, pb: number): string {
  return a < b || (a === b && pa <= pb) ? `${proto}|${a}|${pa}|${b}|${pb}` : `${proto}|${b}|${pb}|${a}|${pa}`;
}

export type { SegmentMark };
