// The protocol event stream. Services describe what happened as typed events; the logger and (later)
// the lab dashboard subscribe. Publishing never waits for a subscriber: each subscriber has its own
// bounded queue, drained on a later tick, and a subscriber that falls behind loses its oldest events
// (counted in `dropped`) instead of slowing a service down.
import { TokenBucket } from './rate-window.js';

export interface Endpoint {
  address: string;
  port: number;
}

interface EventBase {
  /** Milliseconds since the epoch. */
  time: number;
  /** Service name: 'http', 'smtp', 'dhcp', ... */
  service: string;
  /** Session id, unique within the process (absent for service-level events). */
  session?: string;
}

export interface SessionOpenEvent extends EventBase {
  type: 'session.open';
  session: string;
  peer: Endpoint;
  local: Endpoint;
  tls: boolean;
}

export interface SessionCloseEvent extends EventBase {
  type: 'session.close';
  session: string;
  reason: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

/** A command (or request line) received from the client; secrets already redacted. */
export interface CommandEvent extends EventBase {
  type: 'command';
  session: string;
  text: string;
  /** Parsed command name (EHLO, FETCH, GET...) when known. */
  name?: string;
  /**
   * What came with the command, when a service shows it: message data after DATA or BDAT, an APPEND
   * literal, HTTP header fields. At most EVENT_PAYLOAD_MAX characters, secrets removed; the live lab
   * shows it folded with its size.
   */
  payload?: string;
  /** Octets of the whole payload (payload may be cut). */
  payloadBytes?: number;
}

/** A reply (or status line) sent to the client. `text` may be a summary for large payloads. */
export interface ReplyEvent extends EventBase {
  type: 'reply';
  session: string;
  text: string;
  /** Octets actually sent for this reply, including any payload summarised away. */
  bytes?: number;
  /** What the reply carried, when a service shows it (a RETR'd message, a FETCH literal); see CommandEvent.payload. */
  payload?: string;
  /** Octets of the message data the payload stands for, when not all of `bytes` (FETCH literals). */
  payloadBytes?: number;
}

/** The most payload text an event carries (services cut longer payloads and give payloadBytes or bytes). */
export const EVENT_PAYLOAD_MAX = 16 * 1024;

/** A datagram or frame decoded (DHCP packets, TLS records). */
export interface PacketEvent extends EventBase {
  type: 'packet';
  direction: 'in' | 'out';
  peer: Endpoint;
  summary: string;
  fields: Record<string, unknown>;
}

/** One step of a TLS handshake (ClientHello, ServerHello, ..., established). */
export interface TlsEvent extends EventBase {
  type: 'tls';
  session: string;
  step: string;
  detail: Record<string, unknown>;
}

/**
 * A login attempt on a session: SMTP AUTH, POP3 USER/PASS, APOP and AUTH, IMAP LOGIN and
 * AUTHENTICATE, HTTP Basic. Never carries the secret. After `ok: true` the session belongs to `user`
 * (the live lab shows a student the sessions they authenticated in).
 */
export interface AuthEvent extends EventBase {
  type: 'auth';
  session: string;
  /** The canonical account name when ok; the name the client gave (cut to 64 characters) otherwise. */
  user: string;
  ok: boolean;
  /** 'PLAIN', 'LOGIN', 'CRAM-MD5', 'APOP', 'USER/PASS', 'IMAP LOGIN', 'Basic'... */
  mechanism: string;
}

/** A service changed state. */
export interface ServiceStateEvent extends EventBase {
  type: 'service.state';
  state: 'starting' | 'listening' | 'stopping' | 'stopped' | 'failed';
  detail?: string;
}

/** Something a session or service noticed that a student should see (limit hit, error reply...). */
export interface NoticeEvent extends EventBase {
  type: 'notice';
  level: 'info' | 'warn' | 'error';
  message: string;
  detail?: Record<string, unknown>;
}

/**
 * A frame the packet capture kept (config `capture.enabled`): ask the PacketCapture (TOKENS.Capture)
 * for its layers by `frame`, for its flow's ladder or a pcapng by `flow`. `session` is the labnet
 * session the frame belongs to once linked; `service` is that session's service, or 'capture'.
 */
export interface FrameEvent extends EventBase {
  type: 'frame';
  frame: number;
  flow: string;
  /** Innermost protocol named: 'TCP', 'HTTP', 'ARP', 'DHCP', 'ICMP'... */
  protocol: string;
  /** One line, like Wireshark's Info column. */
  summary: string;
  /** Bytes on the wire. */
  length: number;
  source: string;
  destination: string;
  /** TCP analysis marks: 'retransmission', 'out-of-order', 'previous-segment-not-captured', 'duplicate-ack', 'zero-window', 'keep-alive'. */
  marks?: string[];
}

export type ProtocolEvent =
  SessionOpenEvent | SessionCloseEvent | CommandEvent | ReplyEvent | PacketEvent | TlsEvent | AuthEvent | ServiceStateEvent | NoticeEvent | FrameEvent;

export type ProtocolEventType = ProtocolEvent['type'];

// Distributes Omit over the union so each member keeps its own fields.
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventInput = DistributiveOmit<ProtocolEvent, 'time'> & { time?: number };

export type Subscriber = (event: ProtocolEvent) => void;

export interface SubscribeOptions {
  /** Only these event types are queued for this subscriber. */
  types?: readonly ProtocolEventType[];
  /** Queue bound; past it the oldest queued events are dropped. Default 10,000. */
  maxQueue?: number;
  /**
   * The subscriber takes exactly the types it names and does not turn `active` on: hot paths that
   * build every command and reply when `active` keep skipping them for it (the packet capture wants
   * `session.open`, not the whole dialogue). `wants(type)` still counts it.
   */
  passive?: boolean;
}

export interface Subscription {
  unsubscribe(): void;
  /** Events dropped because this subscriber fell behind. */
  readonly dropped: number;
}

class SubscriberQueue implements Subscription {
  private queue: ProtocolEvent[] = [];
  private head = 0;
  private scheduled = false;
  dropped = 0;
  active = true;

  constructor(
    private readonly fn: Subscriber,
    readonly types: ReadonlySet<ProtocolEventType> | undefined,
    readonly passive: boolean,
    private readonly maxQueue: number,
    private readonly onError: (err: unknown) => void,
    private readonly remove: (q: SubscriberQueue) => void,
  ) {}

  /** Events queued and not yet handed to the subscriber. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  offer(event: ProtocolEvent): void {
    if (this.types && !this.types.has(event.type)) return;
    if (this.queue.length - this.head >= this.maxQueue) {
      this.head++;
      this.dropped++;
    }
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    const start = this.head;
    this.queue = [];
    this.head = 0;
    for (let i = start; i < batch.length && this.active; i++) {
      try {
        this.fn(batch[i]);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  unsubscribe(): void {
    this.active = false;
    this.queue = [];
    this.head = 0;
    this.remove(this);
  }
}

/** The per-exchange events that hot paths build only when somebody wants them. */
const DIALOGUE_TYPES: readonly ProtocolEventType[] = ['session.open', 'session.close', 'command', 'reply', 'packet', 'tls', 'auth'];

/**
 * A session hears of its first thinned lines this long after the first of them (several at once, not
 * one notice per line), then at most once every THINNED_TELL_MS.
 */
const FIRST_TELL_MS = 100;

/**
 * New sessions are budgeted at this fraction of the line budget (rate and burst alike): a recorded
 * session of a flood (an HTTP request line and its status line, an SMTP greeting and QUIT) keeps its
 * lines, because five lines of budget come with each session of budget.
 */
const LINES_PER_SESSION_BUDGET = 5;

/** Sessions hear how many of their lines were thinned at most this often (one notice each per second). */
const THINNED_TELL_MS = 1000;

/** Sessions whose thinned lines are counted one by one in a slice; past it they go to the total only. */
const MAX_THINNED_SESSIONS = 10_000;

/**
 * Open sessions remembered as not recorded. The connection limits keep far fewer open; past this bound
 * a session over the budget is still served and still counted, only its lines are thinned one by one.
 */
const MAX_UNRECORDED = 100_000;

/**
 * How a recording budget went: `recorded` command and reply events let through, `thinned` ones the
 * services were told to skip (a flood or a benchmark went past the budget).
 */
export interface RecordingStats {
  perSecond: number;
  /** Lines recorded at once after a quiet spell, before the steady `perSecond` applies. */
  burst: number;
  recorded: number;
  thinned: number;
  /** New sessions not recorded (past a fifth of `perSecond` in one second). */
  sessionsThinned: number;
}

/** The events a recording budget thins: commands and replies (sessions, logins, TLS steps and notices always go through). */
export function isLineEvent(type: ProtocolEventType): boolean {
  return type === 'command' || type === 'reply';
}

/** A session's thinned lines since it was last told, and in which telling round they count. */
export interface ThinnedCount {
  service: string;
  n: number;
  round: number;
}

export class EventBus {
  private subscribers: SubscriberQueue[] = [];
  /** Event types some subscriber takes (all of them when `wantAll`), kept for cheap `wants` checks. */
  private wanted = new Set<ProtocolEventType>();
  private wantAll = false;
  private dialogue = false;
  private sessionCounter = 0;
  private perSecond = 0;
  private burst = 0;
  /** Command and reply events allowed (rate 0: no budget). */
  private lines: TokenBucket;
  private recorded = 0;
  private thinnedTotal = 0;
  /**
   * Until this time (the bus's clock) the line budget is spent: every command and reply line is thinned
   * (0: not known to be spent). Connection.wants compares against it and counts the line itself (see
   * thinnedBy), so the common case of a flood costs the hot path a comparison and an increment.
   */
  linesShutUntil = 0;
  /** Lines thinned by Connection.wants without asking `wants` (added to the total when read). */
  thinnedFast = 0;
  /** Bumped each time the sessions are told what they missed (their counts start again). */
  tellRound = 0;
  /** Lines each session missed since it was last told (at most once a second, see THINNED_TELL_MS). */
  private thinned = new Map<string, ThinnedCount>();
  private thinnedTimer: NodeJS.Timeout | undefined;
  /** When the sessions are next told what they missed (THINNED_TELL_MS after the last time). */
  private tellAt = 0;
  /** New sessions recorded (rate 0: no budget). */
  private sessions: TokenBucket;
  private sessionsThinnedTotal = 0;
  /** Open sessions past the session budget: nothing of theirs is built (see recordSession). */
  private unrecorded = new Set<string>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onSubscriberError: (err: unknown) => void = () => {},
  ) {
    this.lines = new TokenBucket(0, 0, now);
    this.sessions = new TokenBucket(0, 0, now);
  }

  /**
   * True when a subscriber wants the dialogue (sessions, commands, replies, packets, TLS steps): hot
   * paths skip building those events otherwise. The logger at info level only takes notices, so a
   * lab without a dashboard or debug logging builds nothing per command.
   */
  get active(): boolean {
    return this.dialogue;
  }

  /** Some subscriber takes events of this type (no recording budget spent: a question, not a line). */
  listens(type: ProtocolEventType): boolean {
    return this.wantAll || this.wanted.has(type);
  }

  /**
   * The bus's clock (milliseconds since the epoch; Date.now unless a test gave the bus its own). A hot
   * path that needs the time anyway reads it here once and hands the reading to `wants`.
   */
  time(): number {
    return this.now();
  }

  /**
   * Wants events of this type (cheap check for hot paths). With a recording budget set, a command or
   * reply past the budget (see setRecordingBudget) is not wanted: the service skips building it, and the
   * session (when named) is told afterwards, in a notice, how many lines it missed. `at`: a reading of
   * `time()` the caller has just taken (0: the budget reads the clock itself); an HTTP request's line
   * and status line are checked with the one reading taken as the request arrived, which the static
   * path uses too, instead of two more clock reads per request.
   */
  wants(type: ProtocolEventType, session?: string, service?: string, at = 0): boolean {
    if (!(this.wantAll || this.wanted.has(type))) return false;
    if (session !== undefined && this.unrecorded.size > 0 && this.unrecorded.has(session)) return false;
    // The line events a budget thins are commands and replies (sessions, logins, TLS steps and
    // notices always go through).
    if (!isLineEvent(type) || this.lines.rate === 0) return true;
    if (this.lines.admit(at)) {
      this.recorded++;
      return true;
    }
    this.linesShutUntil = this.lines.nextAt();
    this.thinnedTotal++;
    if (session !== undefined) this.countThinned(session, service);
    return false;
  }

  /**
   * The count of `session`'s thinned lines until its next notice, for Connection.wants to add to while
   * the budget is shut (linesShutUntil); undefined past MAX_THINNED_SESSIONS. The count object is
   * replaced when the sessions are told, so a holder compares its `round` with `tellRound` first.
   */
  thinnedBy(session: string, service: string): ThinnedCount | undefined {
    return this.countThinned(session, service);
  }

  /** One more line of `session` thinned: it hears how many in its next notice. Returns its count. */
  private countThinned(session: string, service: string | undefined): ThinnedCount | undefined {
    // A session's later lines past the budget are counted by its Connection on this same object
    // (Connection.wants), so the lookup here runs about once per session and refill.
    let t = this.thinned.get(session);
    if (t === undefined && this.thinned.size < MAX_THINNED_SESSIONS) {
      t = { service: service ?? 'lab', n: 0, round: this.tellRound };
      this.thinned.set(session, t);
    }
    if (t !== undefined) t.n++;
    // Traffic may stop right here: the sessions still hear how much they missed.
    if (this.thinnedTimer === undefined) this.tellThinnedLater(Math.max(FIRST_TELL_MS, this.tellAt - this.now()));
    return t;
  }

  /**
   * Called by the transport as a session opens, before it publishes `session.open`: false when the
   * session budget is spent (a fifth of the line budget's rate and burst: by default 200 new sessions a
   * second, after a burst of 1,000; a room of browsers loading pages at once fits in the burst, a
   * connection flood or a benchmark with `Connection: close` goes past it). Such a session is served as
   * usual, but nothing of it is built:
   * no open or close event, and `wants` answers false for every line of it, so a flood of short
   * connections costs the services a bounded amount of recording. The bus remembers such a session
   * (and the caller calls `endSession` when it closes) unless `remember` is false: the TCP transport
   * keeps the answer on the connection (Connection.recorded) and the services check it before asking
   * `wants`, which saves a set insertion, a deletion and a lookup per line for every session of a
   * flood. Counted in `recording.sessionsThinned`.
   */
  recordSession(session: string, remember = true): boolean {
    if (this.sessions.admit()) return true;
    this.sessionsThinnedTotal++;
    if (remember && this.unrecorded.size < MAX_UNRECORDED) this.unrecorded.add(session);
    return false;
  }

  /** A session that `recordSession` turned down has closed. */
  endSession(session: string): void {
    this.unrecorded.delete(session);
  }

  private tellThinnedLater(ms: number): void {
    this.thinnedTimer = setTimeout(
      () => {
        this.thinnedTimer = undefined;
        const left = this.tellAt - this.now();
        if (left > 0) this.tellThinnedLater(left);
        else if (this.thinned.size > 0) this.tellThinned();
      },
      Math.max(1, ms),
    );
    this.thinnedTimer.unref();
  }

  /**
   * Limits the command and reply events built to `perSecond` on average, with up to `burst` at once
   * after a quiet spell (a token bucket; perSecond 0 lifts the limit). The live lab sets it: past it (a
   * flood, a benchmark) the services skip building lines, so recording costs them a bounded share
   * however fast the traffic is, while a class acting all at once is recorded whole; sessions, logins,
   * TLS steps, notices and byte counts are never thinned. New sessions get a fifth of both figures
   * (see recordSession).
   */
  setRecordingBudget(perSecond: number, burst = perSecond): void {
    this.perSecond = perSecond;
    this.burst = perSecond > 0 ? Math.max(1, burst) : 0;
    this.lines = new TokenBucket(perSecond, this.burst, this.now);
    this.linesShutUntil = 0;
    this.sessions =
      perSecond > 0
        ? new TokenBucket(Math.max(1, perSecond / LINES_PER_SESSION_BUDGET), Math.max(1, Math.floor(this.burst / LINES_PER_SESSION_BUDGET)), this.now)
        : new TokenBucket(0, 0, this.now);
    if (perSecond <= 0) {
      this.unrecorded.clear();
      if (this.thinned.size > 0) this.tellThinned();
    }
  }

  /** The budget for new sessions (a fifth of the line budget's rate and burst; rate 0: none). */
  get sessionBudget(): { perSecond: number; burst: number } {
    return { perSecond: this.sessions.rate, burst: this.sessions.burst };
  }

  get recording(): RecordingStats {
    return {
      perSecond: this.perSecond,
      burst: this.burst,
      recorded: this.recorded,
      thinned: this.thinnedTotal + this.thinnedFast,
      sessionsThinned: this.sessionsThinnedTotal,
    };
  }

  private tellThinned(): void {
    this.tellRound++;
    this.tellAt = this.now() + THINNED_TELL_MS;
    const missed = this.thinned;
    this.thinned = new Map();
    const { perSecond, burst } = this;
    for (const [session, { service, n }] of missed) {
      this.publish({
        type: 'notice',
        service,
        session,
        level: 'info',
        message: `${n} ${n === 1 ? 'line' : 'lines'} not recorded here: the lab records at most ${perSecond} commands and replies a second across all sessions once a burst of ${burst} is spent (a flood or a benchmark went past it); the connection itself was served as usual`,
        detail: { thinned: n },
      });
    }
  }

  private recomputeWanted(): void {
    this.linesShutUntil = 0;
    this.wantAll = this.subscribers.some((s) => !s.types);
    this.wanted = new Set(this.subscribers.flatMap((s) => (s.types ? [...s.types] : [])));
    this.dialogue = this.subscribers.some((s) => !s.passive && (!s.types || DIALOGUE_TYPES.some((t) => s.types!.has(t))));
  }

  publish(input: EventInput): void {
    if (this.subscribers.length === 0) return;
    // Callers hand in a fresh object literal: stamping it saves a copy of every event.
    if (input.time === undefined) input.time = this.now();
    const event = input as ProtocolEvent;
    for (const s of this.subscribers) s.offer(event);
  }

  subscribe(fn: Subscriber, options: SubscribeOptions = {}): Subscription {
    const q = new SubscriberQueue(
      fn,
      options.types ? new Set(options.types) : undefined,
      options.passive === true,
      options.maxQueue ?? 10_000,
      this.onSubscriberError,
      (gone) => {
        this.subscribers = this.subscribers.filter((x) => x !== gone);
        this.recomputeWanted();
      },
    );
    this.subscribers = [...this.subscribers, q];
    this.recomputeWanted();
    return q;
  }

  /**
   * Resolves once every subscriber has received everything published before the call (and whatever
   * subscribers published in turn while being handed it). Tests wait on this instead of sleeping
   * before they assert that something was, or was not, logged or shown.
   */
  async settled(): Promise<void> {
    // Each queue drains on its own setImmediate; a bounded number of turns covers chains of
    // subscribers publishing again.
    for (let turn = 0; turn < 1000 && this.subscribers.some((s) => s.pending > 0); turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** A fresh process-unique session id such as `smtp-42`. */
  nextSessionId(service: string): string {
    this.sessionCounter++;
    return `${service}-${this.sessionCounter}`;
  }
}

/** How much of a message body an event payload shows after the header section. */
export const EVENT_BODY_EXCERPT = 2048;

/**
 * A mail message as event payload text: the header section whole (cut to fit EVENT_PAYLOAD_MAX) and
 * the first `bodyMax` octets of the body. Reads at most EVENT_PAYLOAD_MAX octets of `parts`.
 */
export function messageExcerpt(parts: readonly Buffer[], bodyMax = EVENT_BODY_EXCERPT): string {
  const wanted = EVENT_PAYLOAD_MAX;
  const taken: Buffer[] = [];
  let n = 0;
  for (const p of parts) {
    if (n >= wanted) break;
    const piece = p.length > wanted - n ? p.subarray(0, wanted - n) : p;
    taken.push(piece);
    n += piece.length;
  }
  // One piece (a whole message in one buffer, the usual case) needs no copy.
  const head = taken.length === 1 ? taken[0] : Buffer.concat(taken, n);
  let end = head.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) {
    end = head.indexOf('\n\n');
    sep = 2;
  }
  if (end < 0) return head.subarray(0, wanted - bodyMax).toString('utf8');
  const headerEnd = Math.min(end, wanted - bodyMax - sep);
  const body = head.subarray(end + sep, end + sep + bodyMax);
  return `${head.subarray(0, headerEnd).toString('utf8')}${end > headerEnd ? '\r\n…' : ''}\r\n\r\n${body.toString('utf8')}`;
}
