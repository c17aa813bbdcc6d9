// One TCP connection followed segment by segment, the way Wireshark's TCP analysis does: sequence and
// acknowledgement numbers relative to each side's initial sequence number, the window scaled once both
// SYNs agreed on it, and each segment marked when it is a retransmission, arrives out of order, follows
// a gap in what was captured, is a duplicate ACK, a keep-alive or announces a zero window. The phases
// (three-way handshake, data, four-way close or reset) give the ladder its shape.
import { tcpFlagNames } from './tcp.js';
import type { TcpIndex } from './frame-index.js';
import type { SegmentMark, SegmentPhase, TcpState, TcpSegmentAnalysis } from './view-types.js';
export type { SegmentMark, SegmentPhase, TcpState, TcpSegmentAnalysis } from './view-types.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

/** Which step of the connection a segment is, for its explanation (the text is written when shown). */
export type StepKind =
  | 'syn'
  | 'syn-again'
  | 'syn-ack'
  | 'handshake-ack'
  | 'fin-first'
  | 'fin-second'
  | 'fin-with-data'
  | 'fin-ack-first'
  | 'fin-ack-last'
  | 'data'
  | 'ack'
  | 'no-ack'
  | 'reset';

export const NO_MARKS: readonly SegmentMark[] = Object.freeze([]);

/** The marks as bits (in the order the analysis finds them, which is the order they are listed in). */
export const MARK_BITS: readonly SegmentMark[] = [
  'previous-segment-not-captured',
  'keep-alive',
  'out-of-order',
  'retransmission',
  'duplicate-ack',
  'zero-window',
];
const NOT_CAPTURED = 1;
const KEEP_ALIVE = 2;
const OUT_OF_ORDER = 4;
const RETRANSMISSION = 8;
const DUPLICATE_ACK = 16;
const ZERO_WINDOW = 32;

/** Each combination of mark bits as the frozen array segments share (no array per segment). */
export const MARKS_BY_BITS: ReadonlyArray<readonly SegmentMark[]> = Array.from({ length: 1 << MARK_BITS.length }, (_, bits) =>
  bits === 0 ? NO_MARKS : Object.freeze(MARK_BITS.filter((_m, i) => bits & (1 << i))),
);

/** The bits of a list of marks (MARKS_BY_BITS gives the list back). */
export function markBits(marks: readonly SegmentMark[]): number {
  let bits = 0;
  for (const m of marks) bits |= 1 << MARK_BITS.indexOf(m);
  return bits;
}

/**
 * What the analysis keeps about one segment (numbers and codes only: one small object per captured
 * segment, kept as long as the frame). `describeSegment` turns it into the ladder's step.
 */
export interface TcpSegment {
  fromClient: boolean;
  relSeq: number;
  relAck: number;
  nextRelSeq: number;
  seq: number;
  ack: number;
  dataLength: number;
  /** The 12 flag bits. */
  flags: number;
  window: number;
  windowBytes: number;
  windowScaled: boolean;
  marks: readonly SegmentMark[];
  phase: SegmentPhase;
  step: StepKind;
}

interface Side {
  /** Initial sequence number (from the SYN, or the first sequence number seen). */
  isn?: number;
  /** Relative sequence number of the next new byte (highest seen + its length). */
  next: number;
  sawSyn: boolean;
  wscale?: number;
  finRelSeq?: number;
  lastAck?: number;
  lastWindow?: number;
  /** Time the highest segment so far was seen (microseconds). */
  highestAt: number;
  /** Ranges [from, to) not yet seen, after a gap (at most 16 kept). */
  gaps: Array<[number, number, number]> | undefined;
}

/** Reordering shorter than this (or the handshake's round trip, if longer) is "out of order". */
const REORDER_US = 3000;
const MAX_GAPS = 16;
const U32 = 0x100000000;

const rel = (value: number, base: number): number => (value - base + U32) % U32;

/** A side with every field present from the start: one object shape, whichever fields the segments fill in. */
function newSide(): Side {
  return {
    isn: undefined,
    next: 0,
    sawSyn: false,
    wscale: undefined,
    finRelSeq: undefined,
    lastAck: undefined,
    lastWindow: undefined,
    highestAt: 0,
    gaps: undefined,
  };
}

export class TcpConversation {
  private readonly client: Side = newSide();
  private readonly server: Side = newSide();
  state: TcpState = 'handshake';
  /** Round trip of the handshake (SYN to the ACK of the SYN+ACK), microseconds. */
  handshakeRttUs?: number;
  private synAt?: number;
  private synAckSeen = false;
  private handshakeDone = false;
  /** Segments of each kind seen, for the ladder's header. */
  readonly counts = { segments: 0, retransmissions: 0, outOfOrder: 0, lost: 0, duplicateAcks: 0 };

  /**
   * Bytes of each direction's stream the capture never saw: gaps that no late or retransmitted
   * segment filled (frames the capture lost, or left out while thinned). A decoder cannot follow the
   * stream across one, so TLS after it does not decrypt. At least this many: only the first 16 gaps
   * of a side are remembered, and `counts.lost` says how many opened.
   */
  notCaptured(): { client: number; server: number } {
    const sum = (side: Side): number => (side.gaps ?? []).reduce((n, [from, to]) => n + (to - from), 0);
    return { client: sum(this.client), server: sum(this.server) };
  }

  get windowScaling(): boolean {
    return this.client.wscale !== undefined && this.server.wscale !== undefined;
  }

  /**
   * Analyses the next captured segment of this connection; the result goes into `out` (which may be
   * the segment's own frame: it keeps its numbers) or a new object.
   */
  add(seg: TcpIndex, fromClient: boolean, timeUs: number, out?: TcpSegment & { analysed?: boolean }): TcpSegment {
    const s = fromClient ? this.client : this.server;
    const p = fromClient ? this.server : this.client;
    const syn = (seg.flags & SYN) !== 0;
    const fin = (seg.flags & FIN) !== 0;
    const rst = (seg.flags & RST) !== 0;
    const ackFlag = (seg.flags & ACK) !== 0;
    this.counts.segments++;
    if (syn) {
      if (!s.sawSyn || s.isn === undefined) s.isn = seg.seq;
      s.sawSyn = true;
      if (seg.options?.wscale !== undefined) s.wscale = Math.min(seg.options.wscale, 14);
    }
    s.isn ??= seg.seq;
    if (p.isn === undefined && ackFlag && !syn) {
      // Joined mid-connection: the other side's base is what this side acknowledges.
      p.isn = seg.ack;
    }
    const relSeq = rel(seg.seq, s.isn);
    const consumed = seg.dataLength + (syn ? 1 : 0) + (fin ? 1 : 0);
    const seqEnd = relSeq + consumed;
    let marks = 0;

    // Sequence analysis (RFC 9293 section 3.4: each byte, SYN and FIN consume one number).
    if (consumed > 0) {
      if (relSeq > s.next && s.next > 0) {
        marks |= NOT_CAPTURED;
        this.counts.lost++;
        if ((s.gaps ??= []).length < MAX_GAPS) s.gaps.push([s.next, relSeq, timeUs]);
      } else if (seqEnd <= s.next && s.next > 0) {
        if (!syn && !fin && seg.dataLength === 1 && relSeq === s.next - 1) marks |= KEEP_ALIVE;
        else {
          const gap = s.gaps?.findIndex(([from, to]) => relSeq >= from && relSeq < to) ?? -1;
          const window = Math.max(REORDER_US, this.handshakeRttUs ?? 0);
          if (gap >= 0 && timeUs - s.highestAt < window) {
            marks |= OUT_OF_ORDER;
            this.counts.outOfOrder++;
          } else {
            marks |= RETRANSMISSION;
            this.counts.retransmissions++;
          }
          if (s.gaps) fillGaps(s, relSeq, seqEnd);
        }
      } else if (relSeq < s.next && seqEnd > s.next) {
        marks |= RETRANSMISSION;
        this.counts.retransmissions++;
        if (s.gaps) fillGaps(s, relSeq, s.next);
      }
      if (seqEnd > s.next) {
        s.next = seqEnd;
        s.highestAt = timeUs;
      }
    } else if (seg.dataLength === 0 && !rst && relSeq === s.next - 1 && s.next > 1) {
      marks |= KEEP_ALIVE;
    }
    if (fin) s.finRelSeq = relSeq + seg.dataLength;

    // Acknowledgement analysis.
    const relAck = ackFlag && p.isn !== undefined ? rel(seg.ack, p.isn) : 0;
    if (
      ackFlag &&
      consumed === 0 &&
      !rst &&
      !syn &&
      !fin &&
      s.lastAck === seg.ack &&
      s.lastWindow === seg.window &&
      p.next > relAck &&
      (marks & KEEP_ALIVE) === 0
    ) {
      marks |= DUPLICATE_ACK;
      this.counts.duplicateAcks++;
    }
    if (seg.window === 0 && !rst && !syn) marks |= ZERO_WINDOW;
    if (ackFlag) {
      s.lastAck = seg.ack;
      s.lastWindow = seg.window;
    }

    // Phase and connection state.
    let phase: SegmentPhase = 'data';
    let step: StepKind;
    if (rst) {
      phase = 'reset';
      this.state = 'reset';
      step = 'reset';
    } else if (syn && !ackFlag) {
      phase = 'handshake';
      this.synAt ??= timeUs;
      step = (marks & RETRANSMISSION) !== 0 ? 'syn-again' : 'syn';
    } else if (syn) {
      phase = 'handshake';
      this.synAckSeen = true;
      step = 'syn-ack';
    } else if (!this.handshakeDone && this.synAckSeen && fromClient && ackFlag && relAck === 1 && seg.dataLength === 0 && !fin) {
      phase = 'handshake';
      this.handshakeDone = true;
      this.state = 'established';
      if (this.synAt !== undefined) this.handshakeRttUs = timeUs - this.synAt;
      step = 'handshake-ack';
    } else if (fin) {
      phase = 'close';
      if (this.state !== 'reset') this.state = 'closing';
      step = seg.dataLength > 0 ? 'fin-with-data' : p.finRelSeq !== undefined ? 'fin-second' : 'fin-first';
    } else if (ackFlag && seg.dataLength === 0 && p.finRelSeq !== undefined && relAck === p.finRelSeq + 1) {
      phase = 'close';
      const bothClosed = s.finRelSeq !== undefined;
      if (bothClosed && this.state !== 'reset') this.state = 'closed';
      step = bothClosed ? 'fin-ack-last' : 'fin-ack-first';
    } else if (seg.dataLength > 0) {
      if (this.state === 'handshake') this.state = 'established';
      step = 'data';
    } else step = ackFlag ? 'ack' : 'no-ack';

    const scaled = this.windowScaling && !syn;
    const windowBytes = scaled ? seg.window * (1 << (s.wscale ?? 0)) : seg.window;
    if (out) {
      out.fromClient = fromClient;
      out.relSeq = relSeq;
      out.relAck = relAck;
      out.nextRelSeq = seqEnd;
      out.seq = seg.seq;
      out.ack = seg.ack;
      out.dataLength = seg.dataLength;
      out.flags = seg.flags;
      out.window = seg.window;
      out.windowBytes = windowBytes;
      out.windowScaled = scaled;
      out.marks = MARKS_BY_BITS[marks];
      out.phase = phase;
      out.step = step;
      out.analysed = true;
      return out;
    }
    return {
      fromClient,
      relSeq,
      relAck,
      nextRelSeq: seqEnd,
      seq: seg.seq,
      ack: seg.ack,
      dataLength: seg.dataLength,
      flags: seg.flags,
      window: seg.window,
      windowBytes,
      windowScaled: scaled,
      marks: MARKS_BY_BITS[marks],
      phase,
      step,
    };
  }
}

/** "PSH, ACK" for each 12-bit flag word, written once. */
const FLAG_TEXT = new Array<string | undefined>(0x1000).fill(undefined);

function flagText(flags: number): string {
  const f = flags & 0xfff;
  return (FLAG_TEXT[f] ??= tcpFlagNames(f).join(', '));
}

/** "PSH, ACK seq=" for each 12-bit flag word, written once. */
const LABEL_HEAD = new Array<string | undefined>(0x1000).fill(undefined);
/** " win=64256" and " win=64256]" for the last windows seen (direct-mapped by value). */
const WIN_SLOTS = 64;
const winKey = new Float64Array(WIN_SLOTS).fill(-1);
const winText = new Array<string>(WIN_SLOTS).fill('');
const winTextClosed = new Array<string>(WIN_SLOTS).fill('');

/** The ladder's line for a segment: "PSH, ACK seq=1 ack=1 len=79 win=64256". */
export function segmentLabel(g: TcpSegment): string {
  return labelText('', g, false);
}

/**
 * `prefix`, the segment's label and, when `closed`, a "]": the Info line of every captured segment is
 * written with it, so the parts that repeat (flags, window) come from caches, not new text per frame.
 */
export function labelText(prefix: string, g: TcpSegment, closed: boolean): string {
  const f = g.flags & 0xfff;
  let s = prefix + (LABEL_HEAD[f] ??= `${flagText(f)} seq=`) + g.relSeq;
  if ((g.flags & ACK) !== 0) s += ' ack=' + g.relAck;
  if (g.dataLength > 0) s += ' len=' + g.dataLength;
  const w = g.windowBytes;
  const slot = (w ^ (w >>> 6)) & (WIN_SLOTS - 1);
  if (winKey[slot] !== w) {
    winKey[slot] = w;
    winText[slot] = ' win=' + w;
    winTextClosed[slot] = ' win=' + w + ']';
  }
  return s + (closed ? winTextClosed[slot] : winText[slot]);
}

/** What the step means, in the course's words. */
export function segmentExplanation(g: TcpSegment): string {
  const who = g.fromClient ? 'client' : 'server';
  const ack = (g.flags & ACK) !== 0;
  let text: string;
  switch (g.step) {
    case 'reset':
      text = `The ${who} resets the connection: it is aborted at once, without the four-way goodbye; data still in flight is lost.`;
      break;
    case 'syn':
      text = 'Handshake step 1 (SYN): the client asks to open a connection and announces its initial sequence number (shown as 0).';
      break;
    case 'syn-again':
      text = 'The SYN again: no SYN+ACK came back in time, so the client repeats its request.';
      break;
    case 'syn-ack':
      text = "Handshake step 2 (SYN+ACK): the server accepts, acknowledges the client's SYN (ack 1) and announces its own initial sequence number.";
      break;
    case 'handshake-ack':
      text = "Handshake step 3 (ACK): the client acknowledges the server's SYN. Both sides now know each other's sequence numbers: the connection is open.";
      break;
    case 'fin-first':
      text = `The ${who} has sent all its data and closes its direction (FIN); the other side may still send.`;
      break;
    case 'fin-second':
      text = `The ${who} closes its direction too (FIN)${ack ? ', acknowledging the other FIN' : ''}.`;
      break;
    case 'fin-with-data':
      text = `${g.dataLength} bytes, and then the end of this direction (FIN).`;
      break;
    case 'fin-ack-first':
      text = `The ${who} acknowledges the FIN; its own direction stays open until it sends a FIN.`;
      break;
    case 'fin-ack-last':
      text = 'The last ACK: both directions are closed, the connection is over.';
      break;
    case 'data':
      text = `${g.dataLength} bytes of data (sequence ${g.relSeq} to ${g.relSeq + g.dataLength - 1}); the receiver will acknowledge ${g.relSeq + g.dataLength}.`;
      break;
    case 'ack':
      text = `Acknowledges every byte before ${g.relAck}.`;
      break;
    default:
      text = 'A segment with no data and no ACK.';
  }
  const m = g.marks;
  if (m.includes('retransmission') && g.phase !== 'handshake') text = `Sent again (retransmission): ${text}`;
  if (m.includes('out-of-order')) text = `Arrived out of order (it belongs before data already seen): ${text}`;
  if (m.includes('previous-segment-not-captured')) text = `A gap before it: earlier bytes were not captured (lost, or not yet arrived). ${text}`;
  if (m.includes('duplicate-ack'))
    text = 'Duplicate ACK: the same acknowledgement again, because data arrived after a gap. Three of them make the sender resend at once (fast retransmit).';
  if (m.includes('keep-alive')) text = 'Keep-alive: a probe one byte before what was already sent, asking "are you still there?" after a long silence.';
  if (m.includes('zero-window')) text += " Window 0: the receiver's buffer is full, the sender must wait.";
  return text;
}

/** The ladder's step for a stored segment (the text written now, not at capture time). */
export function describeSegment(g: TcpSegment): TcpSegmentAnalysis {
  return {
    from: g.fromClient ? 'client' : 'server',
    relSeq: g.relSeq,
    relAck: g.relAck,
    nextRelSeq: g.nextRelSeq,
    seq: g.seq,
    ack: g.ack,
    dataLength: g.dataLength,
    flags: tcpFlagNames(g.flags),
    window: g.window,
    windowBytes: g.windowBytes,
    windowScaled: g.windowScaled,
    marks: [...g.marks],
    phase: g.phase,
    label: segmentLabel(g),
    explanation: segmentExplanation(g),
  };
}

/** Takes [from, to) out of the side's gaps: a late or retransmitted segment, which may span several. */
function fillGaps(s: Side, from: number, to: number): void {
  const gaps = s.gaps!;
  for (let i = 0; i < gaps.length; i++) {
    const [gFrom, gTo, t] = gaps[i];
    if (gFrom >= to || gTo <= from) continue;
    const rest: Array<[number, number, number]> = [];
    if (from > gFrom) rest.push([gFrom, from, t]);
    if (to < gTo) rest.push([to, gTo, t]);
    gaps.splice(i, 1, ...rest);
    i += rest.length - 1;
  }
  if (gaps.length > MAX_GAPS) gaps.length = MAX_GAPS;
}
