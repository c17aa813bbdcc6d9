// What the lab hub sends to browsers (/lab) and to `labnet watch`: the JSON of each server-sent event.
// Types (and one helper) with no Node imports: the browser code in core/lab/ui/ compiles against it too.
// Items that go into the history travel in `batch` events, in order, and the batch's id resumes after
// its last one; lines and session summaries are encoded compactly (wire-codec.ts: decodeBatch gives
// them back as LineData and SessionSummary), anything else as [name, data].

export type Role = 'anonymous' | 'student' | 'instructor';

export interface Viewer {
  role: Role;
  /** The lab account, once logged in. */
  user?: string;
  /** The address the viewer browses from (their sessions from it are theirs too). */
  address: string;
}

export interface EndpointData {
  address: string;
  port: number;
}

/** One session (a TCP connection to a service) as the sessions list shows it. */
export interface SessionSummary {
  id: string;
  service: string;
  /** Listener it came in on ('smtp', 'submission', 'imaps'...), when known. */
  listener?: string;
  peer: EndpointData;
  local: EndpointData;
  /** The account that authenticated in this session. */
  user?: string;
  /** 'implicit': TLS from the first byte (HTTPS, SMTPS...); 'starttls': switched during the session. */
  tls: 'none' | 'implicit' | 'starttls';
  /** A decoded TLS handshake can be shown (GET /lab/api/sessions/ID/tls). */
  handshake: boolean;
  /** "TLS 1.3, TLS_AES_128_GCM_SHA256, x25519" once known. */
  tlsSummary?: string;
  openedAt: number;
  closedAt?: number;
  closeReason?: string;
  /** Octets in and out: counted from the lines until the session closes, exact after. */
  bytesIn: number;
  bytesOut: number;
  /** Lines recorded, including those no longer kept. */
  lines: number;
  /** An HTTP connection of the lab's own page (its requests are all /lab...): hidden unless asked for. */
  lab?: boolean;
  /** HTTP requests seen (HTTP and HTTPS sessions). */
  requests?: number;
  authFailures: number;
}

export type LineKind = 'command' | 'reply' | 'tls' | 'notice' | 'auth' | 'open' | 'close' | 'skipped';

/** A line's direction, also when the stream left it out (it follows from the kind). */
export function lineDir(l: Pick<LineData, 'kind'> & { dir?: LineData['dir'] }): LineData['dir'] {
  return l.dir ?? kindDir(l.kind);
}

/** The direction a line of this kind has unless it says otherwise: client commands, server replies, the lab's own (m) for the rest. */
export function kindDir(kind: LineKind): LineData['dir'] {
  return kind === 'command' ? 'c' : kind === 'reply' ? 's' : 'm';
}

/** One line of a transcript. */
export interface LineData {
  seq: number;
  session: string;
  /** Milliseconds since the epoch. */
  t: number;
  kind: LineKind;
  /**
   * c: from the client, s: from the server, m: something labnet noticed (TLS starts, login, close).
   * Left out on the stream for commands (c) and replies (s): `lineDir` fills it in.
   */
  dir: 'c' | 's' | 'm';
  text: string;
  /** Octets the line stood for on the wire, when known. */
  bytes?: number;
  /** Characters of `text` not kept (the line was longer than the lab keeps). */
  cut?: number;
  payload?: string;
  payloadBytes?: number;
  /**
   * The payload is longer than the stream carries (STREAM_PAYLOAD_INLINE): the hub keeps it with the
   * transcript, and a viewer that unfolds it fetches `/lab/api/sessions/SESSION/lines/SEQ/payload`.
   * A message body is not sent to every browser that merely follows the lab.
   */
  payloadLater?: true;
  /** Travelled encrypted (after STARTTLS, or on an implicit TLS connection). */
  encrypted?: boolean;
  /**
   * What the line means, in the course's words: set by the hub for the lines it writes itself (TCP
   * open and close, TLS, login); for client and server lines the viewer works it out with
   * core/lab/notes.ts (the browser and `labnet watch` alike), which keeps the stream small.
   */
  note?: string;
  /** For 'skipped': how many lines were not kept here. */
  skipped?: number;
  /** HTTP: the request this status line answers, and how long it took. */
  request?: { method: string; path: string; ms: number };
  /** For 'tls' lines: the handshake can be opened. */
  handshake?: boolean;
}

export interface DhcpFieldData {
  name: string;
  /** Octet offset in the BOOTP message and size (Wireshark's byte view). */
  offset: number;
  size: number;
  value: string;
  note: string;
}

export interface DhcpOptionData {
  code: number;
  name: string;
  value: string;
  note: string;
}

export interface DhcpPacketData {
  seq: number;
  t: number;
  /** in: from a client; out: labnet's answer. */
  dir: 'in' | 'out';
  mac: string;
  xid: string;
  /** DHCPDISCOVER, DHCPOFFER... (BOOTREQUEST/BOOTREPLY without option 53). */
  type: string;
  summary: string;
  /** What this message does, in one sentence. */
  sentence: string;
  peer: EndpointData;
  fields: DhcpFieldData[];
  options: DhcpOptionData[];
  /** Sent by labnet itself with its own MAC as chaddr: the check for other DHCP servers at start. */
  probe?: boolean;
}

export interface LeaseRow {
  mac: string;
  address: string;
  hostname?: string;
  /** Milliseconds since the epoch. */
  expiresAt?: number;
  state: 'offered' | 'bound' | 'released' | 'declined' | 'refused' | 'expired';
  /** Last packet time. */
  t: number;
  /** Read from the DHCP service's lease journal when the lab started (no packet of it seen since). */
  restored?: boolean;
}

/** A decoded packet of another service (DNS queries...), shown field by field. */
export interface PacketData {
  seq: number;
  t: number;
  service: string;
  dir: 'in' | 'out';
  peer: EndpointData;
  summary: string;
  fields: unknown;
}

export interface NoticeData {
  seq: number;
  t: number;
  service: string;
  session?: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface ListenerRow {
  name: string;
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  tls: boolean;
}

export interface ServiceRow {
  name: string;
  state: string;
  listeners: ListenerRow[];
  open: number;
  accepted: number;
  /** Sessions opened in the last 60 s. */
  perMinute: number;
  bytesIn: number;
  bytesOut: number;
  /** Octets per second over the last sample. */
  rateIn: number;
  rateOut: number;
  error?: string;
}

export interface InterfaceCounters {
  bytes: number;
  packets: number;
  errors: number;
  drops: number;
}

export interface InterfaceRow {
  name: string;
  mac: string;
  mtu: number;
  /** operstate from /sys/class/net: up, down, unknown (loopback), dormant... */
  state: string;
  carrier?: boolean;
  /** Mb/s when the driver knows. */
  speed?: number;
  addresses: Array<{ family: 'IPv4' | 'IPv6'; address: string; prefix: number }>;
  rx: InterfaceCounters;
  tx: InterfaceCounters;
  /** Per second over the last sample. */
  rxRate: { bytes: number; packets: number };
  txRate: { bytes: number; packets: number };
}

export interface LabStats {
  streams: number;
  sessionsKept: number;
  bytesKept: number;
  /** Events the hub missed because it fell behind (the bus dropped them). */
  missedEvents: number;
  /** Lines and packets recorded since start. */
  recorded: number;
  /** Commands and replies not recorded because the recording budget (lab.history.linesPerSecond) was spent. */
  thinned: number;
  /** Sessions not recorded because more opened in a second than the recording budget allows. */
  sessionsThinned: number;
}

export interface OverviewData {
  t: number;
  hostname: string;
  startedAt: number;
  services: ServiceRow[];
  interfaces: InterfaceRow[];
  lab: LabStats;
}

/** Per-second samples for the overview charts (oldest first, at most 300). */
export interface ChartHistory {
  t: number[];
  services: Record<string, { opened: number[]; rateIn: number[]; rateOut: number[] }>;
  interfaces: Record<string, { rx: number[]; tx: number[] }>;
}

export interface Limits {
  linesPerSession: number;
  sessions: number;
}

/** The first event of a stream (and after a gap): everything the viewer may see, now. */
export interface HelloData {
  viewer: Viewer;
  limits: Limits;
  /** The newest event number included; later events follow with their ids. */
  seq: number;
  sessions: SessionSummary[];
  dhcp: { packets: DhcpPacketData[]; leases: LeaseRow[] };
  packets: PacketData[];
  notices: NoticeData[];
  overview: OverviewData;
  charts: ChartHistory;
  pinned?: string;
  /** Set after a gap: events from..to were not kept long enough for this browser. */
  gap?: { from: number; to: number };
}

/** After a reconnect inside the history window: nothing was lost, the events since follow. */
export interface ResumeData {
  viewer: Viewer;
  seq: number;
  overview: OverviewData;
  pinned?: string;
}

/** GET /lab/api/sessions/ID */
export interface TranscriptData {
  session: SessionSummary;
  lines: LineData[];
  /** The newest event number this transcript includes. */
  seq: number;
}

/** Names of the server-sent events. */
export type StreamEventName = 'hello' | 'resume' | 'session' | 'forget' | 'line' | 'dhcp' | 'lease' | 'packet' | 'notice' | 'overview' | 'pin' | 'gap' | 'bye';

/** The session id `forget` names: it is no longer the viewer's (somebody else logged in on it). */
export interface ForgetData {
  id: string;
}

export interface PinData {
  session?: string;
}

/** TLS handshake of one session (the decoder's ladder, without key-log secrets). */
export interface HandshakeData {
  session: string;
  listener: string;
  startedAt: number;
  version?: string;
  suite?: string;
  group?: string;
  alpn?: string;
  serverName?: string;
  resumed?: boolean;
  error?: string;
  bytes: { client: number; server: number };
  notes: string[];
  /**
   * The handshake was not recorded message by message (tapping off or over budget): what node:tls
   * reported once it was done (version, cipher suite, ALPN, SNI, the certificate), as name and value.
   */
  observed?: Array<{ name: string; value: string }>;
  messages: Array<{
    from: 'client' | 'server';
    name: string;
    t: number;
    bytes: number;
    encrypted: boolean;
    decrypted?: boolean;
    fields: Array<{ name: string; value: string }>;
    explain: string;
    error?: string;
  }>;
}
