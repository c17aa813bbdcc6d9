// PacketCapture (TOKENS.Capture): the lab's own frames, captured by a real capture tool (dumpcap or
// tcpdump) with a filter for the lab's ports, decoded by our own decoders, grouped into flows, each
// flow linked to the labnet session it carried, each TCP connection followed as a ladder, and
// exportable as pcapng with the TLS key log embedded. Off unless `capture.enabled` (it needs
// CAP_NET_RAW); when enabled and not permitted, labnet runs on and says why.
//
// Costs stay bounded: a frame budget per second (past it the tool is restarted with a filter that keeps
// only SYN, FIN, RST, ARP and DHCP until the interface calms down), a bounded frame store, bounded maps
// for sessions, pending links and key-log lines.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { Accounts } from '../auth.js';
import type { LabnetConfig } from '../config.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import type { EventBus, FrameEvent, SessionOpenEvent, Subscription } from '../events.js';
import type { ServiceStatus } from '../service.js';
import { TOKENS } from '../tokens.js';
import { BoundedMap } from './bounded-map.js';
import { addCaptureRoutes, basicInstructorAuthorizer, CAPTURE_PCAPNG_PATH, type InstructorAuthorizer } from './capture-routes.js';
import { CaptureFormatError, CaptureStreamReader, type CapturedRecord } from './capture-stream.js';
import { captureFilter } from './capture-filter.js';
import { CaptureError, CaptureTool, explainFailure } from './capture-tool.js';
import { LINKTYPE } from './decode-frame.js';
import { FrameStore, normaliseAddress, tupleKey, type Flow, type StoredFrame } from './frame-store.js';
import { KeyLogBook } from './key-log-book.js';
import { encodePcapng, type ExportFrame } from './pcapng.js';
import { WELL_KNOWN_PORTS } from './payload.js';
import {
  flowSummary,
  frameDetail,
  frameInfo,
  frameSummary,
  tcpLadder,
  type FlowSummary,
  type FrameDetail,
  type FrameSummary,
  type TcpLadder,
} from './views.js';
import type { CaptureStatus } from './view-types.js';
export type { CaptureStatus } from './view-types.js';

/** Whose frames a caller may see. Absent: everything (an instructor). */
export interface CaptureScope {
  /** labnet session ids (the live lab's rules decide which are the caller's). */
  sessions?: readonly string[];
  /** IP addresses: flows from or to them (a student's own machine). */
  addresses?: readonly string[];
  /** MAC addresses: DHCP and ARP exchanges of the caller's network card. */
  macs?: readonly string[];
  /**
   * IP addresses of flows' initiators only (the SYN sender, the pinger, the ARP asker): a student's own
   * machine when the lab server shares its address (one machine, loopback), where `addresses` would
   * match every flow through the server's side.
   */
  clients?: readonly string[];
}

export interface FrameQuery {
  scope?: CaptureScope;
  flow?: string;
  session?: string;
  /** Only frames after this frame number (for polling). */
  since?: number;
  /** At most this many, the most recent (default 500). */
  limit?: number;
}

export interface PcapngSelection {
  scope?: CaptureScope;
  flows?: readonly string[];
  sessions?: readonly string[];
  frames?: readonly number[];
}

/**
 * Section comments on the exported TCP connections a reader cannot follow with Wireshark's defaults:
 * bytes the capture never saw (nothing can be followed, or TLS decrypted, past the gap), and segments
 * that reached the capture out of order (as they reached the receiver; Wireshark follows such a stream
 * only with tcp.reassemble_out_of_order on). A file that does not decrypt says why.
 */
function streamNotes(flows: Iterable<Flow>): string[] {
  const out: string[] = [];
  for (const flow of flows) {
    const tcp = flow.tcp!;
    const name = `flow ${flow.id}${flow.session ? `, session ${flow.session}` : ''}`;
    const missing = tcp.notCaptured();
    if (missing.client > 0 || missing.server > 0) {
      const sides = [missing.client > 0 ? `${missing.client} bytes from the client` : '', missing.server > 0 ? `${missing.server} bytes from the server` : '']
        .filter(Boolean)
        .join(' and ');
      out.push(`${name}: ${sides} not captured (frames the capture lost or left out); the stream cannot be followed, or TLS decrypted, past the gap`);
    }
    if (tcp.counts.outOfOrder > 0)
      out.push(
        `${name}: ${tcp.counts.outOfOrder} segment(s) reached the capture out of order; to follow the stream (and decrypt TLS) in Wireshark, turn on ` +
          'TCP "Reassemble out-of-order segments" (tcp.reassemble_out_of_order)',
      );
    if (out.length >= 64) break;
  }
  return out;
}

/** Listener names and what the view calls their protocol. */
const LISTENER_LABELS: Readonly<Record<string, string>> = {
  http: 'HTTP',
  https: 'HTTPS',
  'https-rsa-demo': 'HTTPS',
  smtp: 'SMTP',
  submission: 'SMTP submission',
  smtps: 'SMTPS',
  pop3: 'POP3',
  pop3s: 'POP3S',
  imap: 'IMAP',
  imaps: 'IMAPS',
  dhcp: 'DHCP',
};

const MAX_SESSIONS = 20_000;
/** A TCP flow on a lab port waits this long for its session.open before its frame events go out unlinked. */
const LINK_WAIT_MS = 1000;
const MAX_PENDING_FLOWS = 256;
const MAX_PENDING_PER_FLOW = 64;
const START_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;
/** The frame budget is checked per quarter second. */
const BUDGET_SLICES = 4;

type FrameEventInput = Omit<FrameEvent, 'time'> & { time?: number };

@injectable()
export class PacketCapture {
  private store: FrameStore;
  private readonly keys = new KeyLogBook();
  private tool: CaptureTool | undefined;
  private reader: CaptureStreamReader | undefined;
  private subscription: Subscription | undefined;
  /** session.open by four-tuple: the session id, its service and when it opened (ms). */
  private readonly sessions = new BoundedMap<string, { session: string; service: string; at: number }>(MAX_SESSIONS);
  private readonly pending = new Map<Flow, { events: FrameEventInput[]; timer: NodeJS.Timeout }>();
  private servicePorts = new Map<number, string>();
  private portNames: Map<number, string> = new Map(WELL_KNOWN_PORTS);
  private tcpPorts: number[] = [];
  private udpPorts: number[] = [];
  private iface = '';
  private fullFilter = '';
  private thinFilter = '';
  private current = '';
  private linkType: number = LINKTYPE.ETHERNET;
  private stateValue: CaptureStatus['state'] = 'off';
  private error: CaptureError | undefined;
  private restarts = 0;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | undefined;
  private calmTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private windowStart = 0;
  private windowCount = 0;
  private skipped = 0;
  private dropped = 0;
  private captured = 0;
  private switching = false;
  private readonly authorizers: InstructorAuthorizer[];

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.HttpRoutes) private readonly routes: HttpRouteRegistry,
    @inject(TOKENS.Accounts) accounts: Accounts,
  ) {
    this.store = this.newStore();
    this.authorizers = [basicInstructorAuthorizer(accounts, () => this.config.instructors, events)];
  }

  /**
   * Another way to recognise an instructor on `/lab/capture.pcapng` (the live lab's login cookie):
   * returns the instructor's name, or undefined to let the next authorizer (and HTTP Basic) decide.
   */
  addAuthorizer(authorizer: InstructorAuthorizer): void {
    this.authorizers.unshift(authorizer);
  }

  get enabled(): boolean {
    return this.config.capture.enabled;
  }

  private newStore(): FrameStore {
    const c = this.config.capture;
    return new FrameStore(
      { maxFrames: c.maxFrames, maxBytes: c.maxBytes, maxFramesPerFlow: c.maxFramesPerFlow, maxFlows: c.maxFlows, pinnedPerFlow: 8 },
      this.servicePorts,
      (flow) => this.onFlow(flow),
    );
  }

  /** The interface to capture on: the configured one, else the DHCP interface, else loopback. */
  captureInterface(): string {
    const c = this.config.capture;
    if (c.interface) return c.interface;
    const dhcp = this.config.services.dhcp as { enabled?: boolean; interface?: string } | undefined;
    if (dhcp?.enabled && dhcp.interface) return dhcp.interface;
    return 'lo';
  }

  /**
   * Starts capturing for the running services' listeners (their bound ports, so --port-offset and
   * port 0 are covered). Never throws for a capture problem: the lab runs on, the status and a notice
   * say why (not permitted, no tool, no interface).
   */
  async start(services: readonly ServiceStatus[], keyLog?: { keyLogSink: ((line: Buffer) => void) | undefined }): Promise<void> {
    if (!this.enabled) return;
    this.stopped = false;
    for (const s of services) {
      for (const l of s.listeners) {
        if (l.port <= 0) continue;
        this.servicePorts.set(l.port, s.name);
        this.portNames.set(l.port, LISTENER_LABELS[l.name] ?? l.name.toUpperCase());
        (l.protocol === 'tcp' ? this.tcpPorts : this.udpPorts).push(l.port);
      }
    }
    this.iface = this.captureInterface();
    const addresses = Object.values(networkInterfaces()[this.iface] ?? {})
      .filter((a) => a !== undefined)
      .map((a) => a.address);
    const input = { tcpPorts: this.tcpPorts, udpPorts: this.udpPorts, addresses, icmp: this.config.capture.icmp };
    this.fullFilter = captureFilter(input);
    this.thinFilter = captureFilter(input, true);
    this.subscription = this.events.subscribe((e) => this.onSessionOpen(e as SessionOpenEvent), { types: ['session.open'], maxQueue: 50_000, passive: true });
    if (keyLog) keyLog.keyLogSink = (line) => this.keys.add(line);
    addCaptureRoutes(this.routes, this, this.authorizers);
    this.stateValue = 'starting';
    try {
      await this.run(this.fullFilter);
      this.stateValue = 'capturing';
      this.logger.info(
        { interface: this.iface, tool: this.config.capture.tool },
        `packet capture on ${this.iface} (${this.config.capture.tool}), lab ports only`,
      );
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.error = err instanceof CaptureError ? err : new CaptureError('CAPTURE_FAILED', err instanceof Error ? err.message : String(err));
    this.stateValue = 'failed';
    this.logger.error({ code: this.error.code }, this.error.message);
    this.events.publish({ type: 'notice', service: 'capture', level: 'error', message: this.error.message, detail: { code: this.error.code } });
  }

  /** Runs the tool with `filter`; resolves once it captures. */
  private async run(filter: string): Promise<void> {
    const c = this.config.capture;
    let tool: CaptureTool | undefined = undefined;
    const reader = new CaptureStreamReader(
      (r) => this.onRecord(r),
      (iface) => {
        this.linkType = iface.linkType;
        tool?.ready();
      },
    );
    tool = new CaptureTool(
      { tool: c.tool, interface: this.iface, filter, snapLength: c.snapLength, bufferMiB: 4, startTimeoutMs: START_TIMEOUT_MS },
      (chunk) => {
        // A tool being replaced (thinning, restoring) is not read any more: its backlog is dropped.
        if (this.tool !== tool) return;
        try {
          reader.push(chunk);
          this.dropped = Math.max(this.dropped, reader.dropped);
        } catch (err) {
          if (!(err instanceof CaptureFormatError)) throw err;
          this.onToolExit(`the capture stream is unreadable: ${err.message}`);
        }
      },
      (reason) => this.onToolExit(reason),
    );
    this.reader = reader;
    this.tool = tool;
    this.current = filter;
    await tool.start();
  }

  private onToolExit(reason: string): void {
    if (this.stopped || this.switching) return;
    const old = this.tool;
    this.tool = undefined;
    void old?.stop(0);
    // Not permitted, no such interface, a refused filter: restarting would not help.
    const cause = old ? explainFailure(this.config.capture.tool, this.iface, old.errorOutput) : undefined;
    if (cause && cause.code !== 'CAPTURE_FAILED') {
      this.fail(cause);
      return;
    }
    this.stateValue = 'restarting';
    this.error = new CaptureError('CAPTURE_FAILED', reason);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    const message = `packet capture stopped: ${reason}; restarting in ${Math.round(delay / 1000)} s`;
    this.logger.warn(message);
    this.events.publish({ type: 'notice', service: 'capture', level: 'warn', message });
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopped) return;
    try {
      await this.run(this.current || this.fullFilter);
      this.restarts++;
      this.stateValue = this.current === this.thinFilter ? 'thinned' : 'capturing';
      this.error = undefined;
      const message = `packet capture restarted on ${this.iface}`;
      this.logger.info(message);
      this.events.publish({ type: 'notice', service: 'capture', level: 'info', message });
      setTimeout(() => {
        if (this.stateValue === 'capturing' || this.stateValue === 'thinned') this.backoffMs = 1000;
      }, 60_000).unref();
    } catch (err) {
      if (this.stopped) return;
      this.onToolExit(err instanceof Error ? err.message : String(err));
    }
  }

  /** Switches the running tool to another filter (thinning or back). */
  private async switchTo(filter: string, state: 'capturing' | 'thinned', message: string): Promise<void> {
    if (this.switching || this.stopped || this.stateValue === 'restarting' || this.stateValue === 'failed') return;
    this.switching = true;
    const old = this.tool;
    this.tool = undefined;
    try {
      await old?.stop();
      if (this.stopped) return;
      await this.run(filter);
      this.stateValue = state;
      this.logger.info(message);
      this.events.publish({ type: 'notice', service: 'capture', level: state === 'thinned' ? 'warn' : 'info', message });
    } catch (err) {
      this.switching = false;
      this.onToolExit(err instanceof Error ? err.message : String(err));
      return;
    } finally {
      this.switching = false;
    }
  }

  private thin(rate: number): void {
    if (this.stateValue !== 'capturing') return;
    const budget = this.config.capture.maxFramesPerSecond;
    void this.switchTo(
      this.thinFilter,
      'thinned',
      `packet capture thinned: more than ${budget} frames per second (capture.maxFramesPerSecond; over ${rate} a second); keeping only SYN, FIN, RST, ARP and DHCP until the traffic calms down`,
    );
    this.watchCalm();
  }

  /** While thinned, the interface's own packet counters say when the traffic is back under half the budget. */
  private watchCalm(): void {
    const budget = this.config.capture.maxFramesPerSecond;
    let last = this.interfacePackets();
    let calm = 0;
    let waited = 0;
    this.calmTimer = setInterval(() => {
      waited++;
      const now = this.interfacePackets();
      const rate = now !== undefined && last !== undefined ? now - last : undefined;
      last = now;
      calm = rate === undefined ? (waited >= 10 ? 3 : 0) : rate < budget / 2 ? calm + 1 : 0;
      if (calm >= 3 && this.stateValue === 'thinned') {
        clearInterval(this.calmTimer);
        this.calmTimer = undefined;
        void this.switchTo(this.fullFilter, 'capturing', `packet capture back to every frame of the lab's ports on ${this.iface}`);
      }
    }, 1000);
    this.calmTimer.unref();
  }

  /** Packets through the interface so far (the larger of received and sent), from sysfs. */
  private interfacePackets(): number | undefined {
    try {
      const read = (what: string): number => Number(readFileSync(`/sys/class/net/${this.iface}/statistics/${what}`, 'utf8').trim());
      return Math.max(read('rx_packets'), read('tx_packets'));
    } catch {
      return undefined;
    }
  }

  private onRecord(r: CapturedRecord): void {
    this.captured++;
    const budget = this.config.capture.maxFramesPerSecond;
    if (budget > 0) {
      // The budget counts by the frames' own capture time in quarter seconds (the tool hands frames
      // over in batches, so arrival time would see bursts), so a flood is noticed within 250 ms.
      const limit = Math.max(1, Math.ceil(budget / BUDGET_SLICES));
      if (r.timeUs - this.windowStart >= 1e6 / BUDGET_SLICES || r.timeUs < this.windowStart) {
        this.windowStart = r.timeUs;
        this.windowCount = 0;
      }
      if (++this.windowCount > limit) {
        // Over the budget: not even looked at (the TCP analysis marks the gaps this leaves).
        this.skipped++;
        if (this.windowCount === limit + 1) this.thin(limit * BUDGET_SLICES);
        return;
      }
    }
    const frame = this.store.add(r);
    if (this.events.wants('frame')) this.publishFrame(frame);
  }

  private publishFrame(f: StoredFrame): void {
    const flow = f.flow;
    const info = frameInfo(f, this.portNames);
    const event: FrameEventInput = {
      type: 'frame',
      service: flow?.service ?? 'capture',
      frame: f.id,
      flow: flow?.id ?? '',
      protocol: info.protocol,
      summary: info.info,
      length: f.originalLength,
      source: info.source,
      destination: info.destination,
      time: Math.round(f.timeUs / 1000),
    };
    if (flow?.session) event.session = flow.session;
    const seg = f.segment;
    if (seg && seg.marks.length > 0) event.marks = [...seg.marks];
    // A connection to a lab port gets its session a moment after its SYN (or the SYN's frame arrives
    // first): hold its frame events briefly so the live lab sees them under the right session.
    if (flow && !flow.session && flow.kind === 'tcp' && flow.service !== undefined) {
      const p = this.pending.get(flow);
      if (p && p.events.length < MAX_PENDING_PER_FLOW) {
        p.events.push(event);
        return;
      }
      if (!p && this.pending.size < MAX_PENDING_FLOWS) {
        const timer = setTimeout(() => this.flushPending(flow), LINK_WAIT_MS);
        timer.unref();
        this.pending.set(flow, { events: [event], timer });
        return;
      }
    }
    this.events.publish(event);
  }

  private flushPending(flow: Flow): void {
    const p = this.pending.get(flow);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(flow);
    for (const e of p.events) {
      if (flow.session) {
        e.session = flow.session;
        e.service = flow.service ?? e.service;
      }
      this.events.publish(e);
    }
  }

  private onSessionOpen(e: SessionOpenEvent): void {
    const key = tupleKey(normaliseAddress(e.peer.address), e.peer.port, normaliseAddress(e.local.address), e.local.port);
    this.sessions.set(key, { session: e.session, service: e.service, at: e.time });
    const flow = this.store.flowByTuple(key);
    if (flow) this.link(flow, key);
  }

  private onFlow(flow: Flow): void {
    const key = flow.tupleKey;
    if (key) this.link(flow, key);
  }

  /** Links a flow to the session opened on its four-tuple, unless that session predates the flow's SYN. */
  private link(flow: Flow, key: string): void {
    if (flow.session) return;
    const s = this.sessions.get(key);
    if (!s) return;
    // A port pair reused by a new connection must not inherit the previous connection's session.
    if (flow.startedWithSyn && s.at < flow.firstUs / 1000 - 2000) return;
    flow.session = s.session;
    flow.service = s.service;
    if (this.pending.has(flow)) this.flushPending(flow);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.calmTimer) clearInterval(this.calmTimer);
    this.subscription?.unsubscribe();
    this.routes.remove(CAPTURE_PCAPNG_PATH);
    for (const flow of [...this.pending.keys()]) this.flushPending(flow);
    await this.tool?.stop();
    this.tool = undefined;
    if (this.stateValue !== 'off') this.stateValue = 'stopped';
  }

  // ---- What the live lab asks ----

  status(): CaptureStatus {
    const out: CaptureStatus = {
      enabled: this.enabled,
      state: this.stateValue,
      tool: this.config.capture.tool,
      interface: this.iface || this.captureInterface(),
      filter: this.current,
      linkType: this.linkType,
      frames: this.captured,
      kept: this.store.size,
      skipped: this.skipped,
      dropped: this.dropped,
      bytes: this.store.bytes,
      flows: this.store.flowCount,
      restarts: this.restarts,
    };
    if (this.tool?.pid !== undefined && this.tool.running) out.pid = this.tool.pid;
    if (this.error) {
      out.error = this.error.message;
      out.errorCode = this.error.code;
    }
    return out;
  }

  /** Whether `scope` may see this flow. */
  private visible(flow: Flow | undefined, scope: CaptureScope | undefined): boolean {
    if (!scope) return true;
    if (!flow) return false;
    if (flow.session && scope.sessions?.includes(flow.session)) return true;
    if (scope.addresses?.some((a) => normaliseAddress(a) === flow.client.address || normaliseAddress(a) === flow.server.address)) return true;
    if (scope.macs?.some((m) => m.toLowerCase() === flow.client.mac || m.toLowerCase() === flow.server.mac)) return true;
    if (scope.clients?.some((a) => normaliseAddress(a) === flow.client.address)) return true;
    return false;
  }

  /** Flows, most recently active first. */
  flows(scope?: CaptureScope, limit = 500): FlowSummary[] {
    const all = this.store.flows();
    const out: FlowSummary[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) if (this.visible(all[i], scope)) out.push(flowSummary(all[i]));
    return out;
  }

  flow(id: string, scope?: CaptureScope): FlowSummary | undefined {
    const flow = this.store.flow(id);
    return flow && this.visible(flow, scope) ? flowSummary(flow) : undefined;
  }

  /** The flows a labnet session's connection made (normally one; none when not captured). */
  flowsForSession(session: string): FlowSummary[] {
    return this.flows({ sessions: [session] }).filter((f) => f.session === session);
  }

  /** Frame lines, oldest first: the most recent `limit` matching the query. */
  frames(q: FrameQuery = {}): FrameSummary[] {
    const limit = q.limit ?? 500;
    const picked: StoredFrame[] = [];
    const flow = q.flow !== undefined ? this.store.flow(q.flow) : undefined;
    const source: Iterable<StoredFrame> = flow ? this.store.keptFrames(flow).filter((f) => f.id > (q.since ?? 0)) : this.store.frames(q.since ?? 0);
    for (const f of source) {
      if (q.session !== undefined && f.flow?.session !== q.session) continue;
      if (!this.visible(f.flow, q.scope)) continue;
      picked.push(f);
      if (picked.length > limit) picked.shift();
    }
    return picked.map((f) => frameSummary(f, this.portNames));
  }

  /** One frame decoded in full (layers, fields, encapsulation, hex), when kept and visible. */
  frame(id: number, scope?: CaptureScope): FrameDetail | undefined {
    const f = this.store.get(id);
    if (!f || !this.visible(f.flow, scope)) return undefined;
    return frameDetail(f, this.portNames);
  }

  /** A TCP connection as a ladder: handshake, data, close or reset, each step marked and explained. */
  ladder(flowId: string, scope?: CaptureScope): TcpLadder | undefined {
    const flow = this.store.flow(flowId);
    return flow && this.visible(flow, scope) ? tcpLadder(flow, this.store.keptFrames(flow)) : undefined;
  }

  /** The frames of a DHCP client's exchanges (by MAC), or of one transaction (xid, hex or number). */
  dhcpFrames(mac: string, xid?: string | number): FrameSummary[] {
    const flow = [...this.store.flows()].find((f) => f.kind === 'dhcp' && f.client.mac === mac.toLowerCase());
    if (!flow) return [];
    const want = xid === undefined ? undefined : typeof xid === 'number' ? xid : Number.parseInt(xid.replace(/^0x/i, ''), 16);
    return this.store
      .keptFrames(flow)
      .filter((f) => want === undefined || f.dhcp?.xid === want)
      .map((f) => frameSummary(f, this.portNames));
  }

  /** ARP exchanges: each question, the address asked about and what it resolved to. */
  arpExchanges(scope?: CaptureScope): FlowSummary[] {
    return this.flows(scope).filter((f) => f.kind === 'arp');
  }

  /** The MAC address last seen for an IP address (ARP answers and DHCP acknowledgements). */
  macOf(address: string): string | undefined {
    const a = normaliseAddress(address);
    let mac: string | undefined;
    for (const f of this.store.flows()) {
      if (f.kind === 'arp' && f.server.address === a && f.resolvedTo) mac = f.resolvedTo;
      else if (f.kind === 'arp' && f.client.address === a && f.client.mac) mac = f.client.mac;
    }
    return mac;
  }

  /**
   * The selected frames (by flow, session or frame number; the whole recent capture when nothing is
   * named) as a pcapng file, each frame commented with its labnet frame, flow and session, and the
   * TLS key log of the selected connections embedded as a Decryption Secrets Block.
   */
  pcapng(selection: PcapngSelection = {}): Buffer {
    const flows = selection.flows ? new Set(selection.flows) : undefined;
    const sessions = selection.sessions ? new Set(selection.sessions) : undefined;
    const ids = selection.frames ? new Set(selection.frames) : undefined;
    const everything = !flows && !sessions && !ids;
    const randoms = new Set<string>();
    const exported = new Set<Flow>();
    const frames: ExportFrame[] = [];
    for (const f of this.store.frames()) {
      if (!this.visible(f.flow, selection.scope)) continue;
      const chosen = everything || (f.flow && flows?.has(f.flow.id)) || (f.flow?.session !== undefined && sessions?.has(f.flow.session)) || ids?.has(f.id);
      if (!chosen) continue;
      if (f.index.clientRandom) randoms.add(f.index.clientRandom);
      if (f.flow?.tcp) exported.add(f.flow);
      const comment = [`labnet frame ${f.id}`, f.flow ? `flow ${f.flow.id}` : '', f.flow?.session ? `session ${f.flow.session}` : '']
        .filter(Boolean)
        .join(', ');
      frames.push({ timeUs: f.timeUs, data: f.data, originalLength: f.originalLength, comment });
    }
    return encodePcapng(frames, {
      linkType: this.linkType,
      snapLength: this.config.capture.snapLength,
      interfaceName: this.iface || this.captureInterface(),
      filter: this.current || undefined,
      keyLog: this.keys.linesFor(randoms),
      application: 'labnet packet capture',
      comments: streamNotes(exported),
    });
  }

  /** Key-log lines held (for the status view). */
  get keyLogHandshakes(): number {
    return this.keys.size;
  }

  /** Feeds a record as if captured (tests, and a replayed capture file). */
  ingest(record: CapturedRecord): void {
    this.onRecord(record);
  }

  /** Feeds a TLS key-log line as if the TLS engine had logged it (tests). */
  addKeyLogLine(line: string): void {
    this.keys.add(line);
  }
}
