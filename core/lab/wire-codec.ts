// The `batch` event's compact encoding: what the hub writes (history.ts) and what the browser,
// `labnet watch`, the tests and the benchmark read (decodeBatch). No Node imports: core/lab/ui/
// compiles against it too.
//
// A batch's data is a JSON array of entries, in event order:
//   [0, dseq, dt, sid, kind, text, extra?]   a transcript line (LineData)
//       dseq, dt: its event number and time minus the previous line's in this batch (the first line's
//       are absolute); sid: the session id as a string the first time the batch names that session,
//       after that the number of that session in the batch (0 for the first named, 1 for the next...);
//       kind: one letter (LINE_KIND_CODE); text: the line, or for the hub's TCP open and close lines
//       the values its sentence is made of (openLineText, closeLineText); extra: the optional fields
//       with short keys (LineExtra), left out when there are none.
//   [1, id, service, listener, peerAddr, peerPort, localAddr, localPort, openedAt, bytesIn, bytesOut,
//       lines, extra?]   a session summary (SessionSummary); listener is "" when unknown; extra holds
//       the optional fields (SummaryExtra). Names the session in the batch as a line's sid does.
//   ["name", data]   anything else (dhcp, lease, packet, notice, pin, forget, flow...) as it is.
// The hub's own sentences for the lines it writes (TCP open and close, TLS, login) travel as a key
// into LINE_NOTES, which both ends have; client and server lines carry no note at all (the viewer
// works it out with notes.ts). An SMTP message costs a follower about a third of the octets it did
// as objects with field names (see test/bench/lab.bench.ts).
import type { LineData, LineKind, SessionSummary } from './wire.js';
import { kindDir } from './wire.js';

/** The sentences the hub attaches to the lines it writes itself, by key (stream: `n` in a line's extra). */
export const LINE_NOTES = {
  open: "The TCP connection is set up (three-way handshake: SYN, SYN-ACK, ACK). The client's port was picked by its operating system; the server's port says which service it wants.",
  openTls: 'The TCP connection is set up (three-way handshake: SYN, SYN-ACK, ACK) and the TLS handshake is done: everything on it is encrypted.',
  close: 'The TCP connection ends: each side sends FIN and the other acknowledges it.',
  loginRefused: 'Wrong user name or password: the session stays logged out.',
  loginOk: 'The password was right: from here on this session belongs to that user (the password is never shown).',
  starttls:
    'The same TCP connection now carries TLS records. An eavesdropper sees only their sizes; the lines below are what the two ends see after decryption.',
  handshake:
    'Client and server agreed on a TLS version, a cipher suite and keys; the certificate proved who the server is. Open the handshake to see each message.',
  untapped:
    'Client and server agreed on a TLS version, a cipher suite and keys. This handshake was not tapped (tapping is off or was over its budget), so only its outcome is known.',
} as const;

/** The text of the line the hub writes when a TCP connection opens. */
export function openLineText(peer: string, peerPort: number, local: string, localPort: number, listener: string, tls: boolean): string {
  return `TCP connection from ${peer}:${peerPort} to ${local}:${localPort} (${listener})${tls ? ', TLS from the first byte' : ''}`;
}

/** The text of the line the hub writes when a TCP connection closes (`seconds` as shown, "0.1"). */
export function closeLineText(reason: string, seconds: string, bytesIn: number, bytesOut: number): string {
  return `connection closed (${reason}) after ${seconds} s: ${bytesIn} octets in, ${bytesOut} out`;
}

const OPEN_TEXT = /^TCP connection from (.+):(\d+) to (.+):(\d+) \((.*)\)(, TLS from the first byte)?$/s;
const CLOSE_TEXT = /^connection closed \((.*)\) after (\d+\.\d) s: (\d+) octets in, (\d+) out$/s;

/**
 * The values an open or close line's text was made of (openLineText, closeLineText), when rebuilding
 * it from them gives exactly that text: the stream carries them instead of the sentence.
 */
export function textArgs(kind: LineKind, text: string): unknown[] | undefined {
  let args: unknown[] | undefined;
  let again: string | undefined;
  if (kind === 'open') {
    const m = OPEN_TEXT.exec(text);
    if (m) {
      args = [m[1], Number(m[2]), m[3], Number(m[4]), m[5], m[6] ? 1 : 0];
      again = openLineText(m[1], Number(m[2]), m[3], Number(m[4]), m[5], Boolean(m[6]));
    }
  } else if (kind === 'close') {
    const m = CLOSE_TEXT.exec(text);
    if (m) {
      args = [m[1], m[2], Number(m[3]), Number(m[4])];
      again = closeLineText(m[1], m[2], Number(m[3]), Number(m[4]));
    }
  }
  return again === text ? args : undefined;
}

/**
 * Whether an open line's text splits back into exactly the values it was made of: then the encoder
 * (encodeLine) writes those values as textArgs would give them, without parsing the text. True when no
 * address or listener name has a space (the sentence's separators all have one), the addresses are
 * not empty and the ports are whole numbers.
 */
export function openArgsPlain(peer: string, peerPort: number, local: string, localPort: number, listener: string): boolean {
  return peer !== '' && local !== '' && plainPart(peer) && plainPart(local) && plainPart(listener) && wholeNumber(peerPort) && wholeNumber(localPort);
}

/** The values of an open line (openLineText's arguments), for the encoder (see openArgsPlain). */
export interface OpenArgs {
  peer: string;
  peerPort: number;
  local: string;
  localPort: number;
  listener: string;
  tls: boolean;
}

/** No space (see openArgsPlain). */
function plainPart(s: string): boolean {
  return typeof s === 'string' && s.indexOf(' ') < 0;
}

/** A number `${n}` writes as digits only (and JSON as the same). */
function wholeNumber(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** textArgs as JSON (undefined when the line's text is sent as it is). */
export function textArgsJson(kind: LineKind, text: string): string | undefined {
  const args = textArgs(kind, text);
  return args === undefined ? undefined : JSON.stringify(args);
}

/** A line's text from what textArgs gave (wrong types give an empty text, never a throw). */
function textFromArgs(kind: LineKind, a: unknown[]): string {
  if (kind === 'open') return openLineText(str(a[0]), num(a[1]), str(a[2]), num(a[3]), str(a[4]), a[5] === 1);
  if (kind === 'close') return closeLineText(str(a[0]), str(a[1]), num(a[2]), num(a[3]));
  return '';
}

/** The note a line of this kind has unless its extra says otherwise (`n: ""`: none). */
export const USUAL_NOTE: Partial<Record<LineKind, string>> = { open: LINE_NOTES.open, close: LINE_NOTES.close };

export const NOTE_KEYS = new Map<string, string>(Object.entries(LINE_NOTES).map(([k, v]) => [v, k]));

export const LINE_KIND_CODE: Record<LineKind, string> = {
  command: 'c',
  reply: 'r',
  tls: 't',
  notice: 'n',
  auth: 'a',
  open: 'o',
  close: 'x',
  skipped: 's',
};
const KIND_OF_CODE = new Map<string, LineKind>(Object.entries(LINE_KIND_CODE).map(([k, v]) => [v, k as LineKind]));

/** A line's optional fields on the stream. */
interface LineExtra {
  /** bytes */
  b?: number;
  /** cut */
  u?: number;
  /** payload */
  p?: string;
  /** payloadBytes */
  pb?: number;
  /** payloadLater */
  pl?: 1;
  /** encrypted */
  e?: 1;
  /** note, as a LINE_NOTES key ("": none; absent: USUAL_NOTE of the kind, if any) */
  n?: string;
  /** note, a sentence not in LINE_NOTES */
  nt?: string;
  /** skipped */
  k?: number;
  /** request: [method, path, ms] */
  q?: [string, string, number];
  /** handshake */
  h?: 1;
  /** dir, when it is not the one lineDir gives its kind */
  d?: LineData['dir'];
}

/** A session summary's optional fields on the stream. */
interface SummaryExtra {
  /** tls: 1 implicit, 2 starttls (absent: none) */
  t?: 1 | 2;
  /** handshake */
  h?: 1;
  /** tlsSummary */
  ts?: string;
  /** user */
  u?: string;
  /** closedAt minus openedAt */
  c?: number;
  /** closeReason */
  r?: string;
  /** lab (0: false) */
  l?: 0 | 1;
  /** requests */
  q?: number;
  /** authFailures */
  f?: number;
}

/** Strings up to this long are checked for characters JSON escapes before they are quoted as they are. */
const PLAIN_CHECK_MAX = 256;

/**
 * A string as JSON.stringify writes it. The usual short ones (a request line, a method, a path, a
 * status line) need no escape: quoting them as they are costs less than a JSON.stringify call.
 */
export function jsonString(s: string): string {
  if (typeof s !== 'string') return jsonValue(s);
  if (s.length > PLAIN_CHECK_MAX) return JSON.stringify(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Control characters, the quote, the backslash and surrogates (a lone one is escaped) go to JSON.stringify.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** A number as JSON.stringify writes it (NaN and the infinities as null). */
export function jsonNumber(n: number): string {
  return typeof n !== 'number' ? jsonValue(n) : Number.isFinite(n) ? `${n}` : 'null';
}

/** A value as JSON.stringify writes it in an array (undefined as null). */
function jsonValue(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

/** Payloads at least this long have their JSON text remembered (shorter ones cost little to escape). */
const PAYLOAD_CACHE_MIN = 16;
/** Payloads longer than this are escaped each time (a mail excerpt, a FETCH literal). */
const PAYLOAD_CACHE_MAX = 4096;
const PAYLOAD_CACHE_SLOTS = 4;
const cachedPayloads: string[] = Array.from({ length: PAYLOAD_CACHE_SLOTS }, () => '');
const cachedPayloadJson: string[] = Array.from({ length: PAYLOAD_CACHE_SLOTS }, () => '""');
let nextPayloadSlot = 0;

/**
 * A payload's JSON text. Like exchanges carry the same payload again and again (an HTTP client's
 * header fields, a file's response head: secret-fields.ts hands them out as one string while they
 * repeat), and escaping their line ends was most of what encoding such a line cost: the last few are
 * remembered, compared by value.
 */
export function jsonPayload(p: string): string {
  if (p.length < PAYLOAD_CACHE_MIN || p.length > PAYLOAD_CACHE_MAX) return JSON.stringify(p);
  for (let i = 0; i < PAYLOAD_CACHE_SLOTS; i++) if (cachedPayloads[i] === p) return cachedPayloadJson[i];
  const json = JSON.stringify(p);
  cachedPayloads[nextPayloadSlot] = p;
  cachedPayloadJson[nextPayloadSlot] = json;
  nextPayloadSlot = (nextPayloadSlot + 1) % PAYLOAD_CACHE_SLOTS;
  return json;
}

/** A summary's entry without its tag: `"id","service",...` (JSON text to follow `[1,` in a batch). */
export function encodeSummaryBody(s: SessionSummary): string {
  const x: SummaryExtra = {};
  if (s.tls !== 'none') x.t = s.tls === 'implicit' ? 1 : 2;
  if (s.handshake) x.h = 1;
  if (s.tlsSummary !== undefined) x.ts = s.tlsSummary;
  if (s.user !== undefined) x.u = s.user;
  if (s.closedAt !== undefined) x.c = s.closedAt - s.openedAt;
  if (s.closeReason !== undefined) x.r = s.closeReason;
  if (s.lab !== undefined) x.l = s.lab ? 1 : 0;
  if (s.requests !== undefined) x.q = s.requests;
  if (s.authFailures !== 0) x.f = s.authFailures;
  const fields = [s.id, s.service, s.listener ?? '', s.peer.address, s.peer.port, s.local.address, s.local.port, s.openedAt, s.bytesIn, s.bytesOut, s.lines];
  const head = JSON.stringify(fields).slice(1, -1);
  for (const _ in x) return `${head},${JSON.stringify(x)}`;
  return head;
}

/** What the batch encoder needs to know of a history item. */
export interface BatchItem {
  seq: number;
  type: string;
  /** JSON: a line's or a summary's body (encodeLine, encodeSummaryBody), else `["type",data]`. */
  entry: string;
  /** Lines, summaries and `forget`: the session id. */
  session?: string;
  /** Lines: the time. */
  t?: number;
}

/**
 * The data of one `batch` event. A session summary that repeats, unchanged, one already in this batch
 * is left out (both were encoded from the same state: applying it again would change nothing), unless
 * a `forget` of that session came between them.
 */
export function encodeBatch(items: Iterable<BatchItem>): string {
  let out = '[';
  let first = true;
  let seq = 0;
  let t = 0;
  const sids = new Map<string, number>();
  const summaries = new Map<string, string>();
  for (const it of items) {
    let e: string;
    if (it.type === 'line' && it.session !== undefined) {
      const ref = sids.get(it.session);
      if (ref === undefined) sids.set(it.session, sids.size);
      e = `[0,${it.seq - seq},${(it.t ?? 0) - t},${ref ?? JSON.stringify(it.session)},${it.entry}]`;
      seq = it.seq;
      t = it.t ?? 0;
    } else if (it.type === 'session' && it.session !== undefined) {
      if (summaries.get(it.session) === it.entry) continue;
      summaries.set(it.session, it.entry);
      if (!sids.has(it.session)) sids.set(it.session, sids.size);
      e = `[1,${it.entry}]`;
    } else {
      // The viewer drops the session here: a summary after this one must not be taken for a repeat.
      if (it.type === 'forget' && it.session !== undefined) summaries.delete(it.session);
      e = it.entry;
    }
    out += first ? e : `,${e}`;
    first = false;
  }
  return `${out}]`;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function decodeLine(seq: number, t: number, session: string, kind: unknown, text: unknown, extra: unknown): LineData {
  const k = KIND_OF_CODE.get(str(kind)) ?? 'notice';
  const x = (extra && typeof extra === 'object' ? extra : {}) as LineExtra;
  const l: LineData = { seq, session, t, kind: k, dir: x.d ?? kindDir(k), text: Array.isArray(text) ? textFromArgs(k, text) : str(text) };
  if (x.b !== undefined) l.bytes = num(x.b);
  if (x.u !== undefined) l.cut = num(x.u);
  if (x.p !== undefined) l.payload = str(x.p);
  if (x.pb !== undefined) l.payloadBytes = num(x.pb);
  if (x.pl) l.payloadLater = true;
  if (x.e) l.encrypted = true;
  const note = x.n !== undefined ? (Object.hasOwn(LINE_NOTES, x.n) ? (LINE_NOTES as Record<string, string>)[x.n] : undefined) : (x.nt ?? USUAL_NOTE[k]);
  if (typeof note === 'string') l.note = note;
  if (x.k !== undefined) l.skipped = num(x.k);
  if (Array.isArray(x.q)) l.request = { method: str(x.q[0]), path: str(x.q[1]), ms: num(x.q[2]) };
  if (x.h) l.handshake = true;
  return l;
}

function decodeSummary(e: unknown[]): SessionSummary {
  const x = (e[12] && typeof e[12] === 'object' ? e[12] : {}) as SummaryExtra;
  const openedAt = num(e[8]);
  const s: SessionSummary = {
    id: str(e[1]),
    service: str(e[2]),
    peer: { address: str(e[4]), port: num(e[5]) },
    local: { address: str(e[6]), port: num(e[7]) },
    tls: x.t === 1 ? 'implicit' : x.t === 2 ? 'starttls' : 'none',
    handshake: x.h === 1,
    openedAt,
    bytesIn: num(e[9]),
    bytesOut: num(e[10]),
    lines: num(e[11]),
    authFailures: num(x.f),
  };
  if (str(e[3]) !== '') s.listener = str(e[3]);
  if (x.ts !== undefined) s.tlsSummary = str(x.ts);
  if (x.u !== undefined) s.user = str(x.u);
  if (x.c !== undefined) s.closedAt = openedAt + num(x.c);
  if (x.r !== undefined) s.closeReason = str(x.r);
  if (x.l !== undefined) s.lab = x.l === 1;
  if (x.q !== undefined) s.requests = num(x.q);
  return s;
}

/**
 * A line from its body (encodeLine) and its position: how the hub reads back the lines it keeps
 * encoded (session-record.ts). A malformed body gives an empty notice line, never a throw.
 */
export function decodeLineBody(seq: number, t: number, session: string, body: string): LineData {
  let e: unknown;
  try {
    e = JSON.parse(`[${body}]`);
  } catch {
    e = [];
  }
  const a = Array.isArray(e) ? (e as unknown[]) : [];
  return decodeLine(seq, t, session, a[0], a[1], a[2]);
}

/** A batch's items, decoded: [event name, data] in event order. Malformed entries are skipped. */
export function decodeBatch(entries: unknown): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (!Array.isArray(entries)) return out;
  let seq = 0;
  let t = 0;
  const sids: string[] = [];
  const named = new Set<string>();
  const name = (id: string): void => {
    if (named.has(id)) return;
    named.add(id);
    sids.push(id);
  };
  for (const e of entries as unknown[]) {
    if (!Array.isArray(e)) continue;
    const tag: unknown = e[0];
    if (tag === 0) {
      seq += num(e[1]);
      t += num(e[2]);
      let sid: string;
      if (typeof e[3] === 'number') sid = sids[e[3]] ?? '';
      else {
        sid = str(e[3]);
        name(sid);
      }
      out.push(['line', decodeLine(seq, t, sid, e[4], e[5], e[6])]);
    } else if (tag === 1) {
      const s = decodeSummary(e);
      name(s.id);
      out.push(['session', s]);
    } else if (typeof tag === 'string') out.push([tag, e[1]]);
  }
  return out;
}
