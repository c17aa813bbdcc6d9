// What a session's transcript (the live lab, issue 15) shows of the message data IMAP carries in
// literals: FETCH literals the server sends (BODY[], BODY[HEADER], BODY[TEXT], parts, partials,
// RFC822*, BINARY's literal8) and APPEND literals the client sends. Like SMTP DATA and POP3 RETR: the
// header section and the first 2 KiB of the body, with the literal's whole size. Excerpts are cut
// from the buffers being written or read (never a copy of a whole message), each event carries at
// most EVENT_PAYLOAD_MAX characters, and a session shows at most SESSION_BUDGET characters in all (a
// FETCH 1:* of a big mailbox is summarised, not mirrored). Only APPEND's literals are shown from the
// client: a LOGIN's literal is a password, and AUTHENTICATE's continuations never come through here.
import { EVENT_BODY_EXCERPT, EVENT_PAYLOAD_MAX, messageExcerpt } from '../../core/events.js';

/** Characters of message data one session's events show in all. */
export const SESSION_BUDGET = 256 * 1024;
/** Literals excerpted in one event (the rest are counted). */
const MAX_PER_EVENT = 8;
/** Text kept before a literal to name it (the FETCH response's start, "BODY[] {123}"). */
const INTRO_MAX = 300;

/** A payload for an event: its text and the octets of the message data it stands for. */
export interface ShownPayload {
  text: string;
  bytes: number;
}

/** A literal as read by the command reader: the line that announced it and its octets. */
export interface ReadLiteral {
  line: Buffer;
  data: Buffer;
}

interface Found {
  intro: string;
  pieces: Buffer[];
  size: number;
}

const CLOSE = Buffer.from('}\r\n', 'latin1');
const ANNOUNCED = /~?\{(\d{1,10})\+?\}\r\n$/;
const ITEM = /(?:(?:BODY|BINARY)(?:\.PEEK)?\[([^\]]*)\](?:<(\d+)>)?|RFC822(\.HEADER|\.TEXT)?)\s+~?\{\d+\+?\}$/i;

/** How a literal is shown, from the item that announced it. */
function excerptOf(intro: string, pieces: readonly Buffer[]): string {
  const m = ITEM.exec(intro);
  const section = m === null ? undefined : m[1] !== undefined ? m[1].toUpperCase() : m[3] === undefined ? '' : m[3].slice(1).toUpperCase();
  const origin = m?.[2];
  let text: string;
  if ((section === '' || section === undefined) && (origin === undefined || origin === '0')) {
    // The whole message (or an APPEND, or its start): header section and the start of the body.
    text = messageExcerpt(pieces);
  } else if (section !== undefined && /(^|\.)(HEADER|HEADER\.FIELDS(\.NOT)?\b.*|MIME)$/.test(section)) {
    text = joined(pieces, EVENT_PAYLOAD_MAX - EVENT_BODY_EXCERPT);
  } else {
    text = joined(pieces, EVENT_BODY_EXCERPT);
  }
  // BINARY sections can carry any octet: no NULs in a transcript.
  return text.includes('\0') ? '(binary data)' : text;
}

function joined(pieces: readonly Buffer[], max: number): string {
  const first = pieces[0] ?? Buffer.alloc(0);
  const b = pieces.length <= 1 || first.length >= max ? first.subarray(0, max) : Buffer.concat(pieces).subarray(0, max);
  return b.toString('utf8');
}

function shownBlock(f: Found, label: string | undefined = f.intro): string {
  const excerpt = excerptOf(f.intro, f.pieces);
  const shownOctets = f.pieces.reduce((n, p) => n + p.length, 0);
  const head = label === undefined || label === '' ? '' : `${label}\r\n`;
  // An excerpt cut from a longer literal says how long the literal was.
  const more = f.size > shownOctets || excerpt.length < shownOctets - 4 ? `\r\n… (${f.size} octets in all)` : '';
  return `${head}${excerpt}${more}`;
}

/**
 * The literals in a batch of FETCH output. A batch holds whole responses (fetch.ts hands a literal's
 * announcement and its octets over together), so a literal never starts in one batch and ends in the
 * next; the walk skips literal octets by count and only searches the text between them.
 */
function fetchLiterals(parts: readonly Buffer[], budget: number): { blocks: string[]; bytes: number; more: number; moreOctets: number } {
  const blocks: string[] = [];
  let bytes = 0;
  let more = 0;
  let moreOctets = 0;
  let kept = 0;
  let recent = '';
  let pi = 0;
  let off = 0;
  while (pi < parts.length) {
    const p = parts[pi];
    const k = p.indexOf(CLOSE, off);
    if (k < 0) {
      recent = (recent + p.toString('latin1', Math.max(off, p.length - INTRO_MAX))).slice(-INTRO_MAX);
      pi++;
      off = 0;
      continue;
    }
    recent = (recent + p.toString('latin1', Math.max(off, k + 3 - INTRO_MAX), k + 3)).slice(-INTRO_MAX);
    off = k + 3;
    if (off >= p.length) {
      pi++;
      off = 0;
    }
    const m = ANNOUNCED.exec(recent);
    if (m === null) continue;
    const size = Number(m[1]);
    const show = blocks.length < MAX_PER_EVENT && kept < budget;
    const want = show ? Math.min(size, EVENT_PAYLOAD_MAX) : 0;
    const pieces: Buffer[] = [];
    let left = size;
    let taken = 0;
    while (left > 0 && pi < parts.length) {
      const q = parts[pi];
      const n = Math.min(left, q.length - off);
      if (taken < want) pieces.push(q.subarray(off, off + Math.min(n, want - taken)));
      taken += n;
      left -= n;
      off += n;
      if (off >= q.length) {
        pi++;
        off = 0;
      }
    }
    if (show) {
      // The literal's announcement as sent: from the start of its FETCH response when that is in view.
      const text = recent.slice(0, -2);
      const start = text.lastIndexOf('* ');
      const intro = start >= 0 ? text.slice(start) : `… ${text.slice(-80).trimStart()}`;
      const block = shownBlock({ intro: intro.replace(/\r\n/g, ' '), pieces, size });
      // A block that would not fit is counted instead (the first one is always shown, cut if need be).
      if (blocks.length === 0 || kept + block.length + 4 <= budget) {
        blocks.push(block);
        bytes += size;
        kept += block.length + 4;
        recent = '';
        continue;
      }
      kept = budget;
    }
    more++;
    moreOctets += size;
    recent = '';
  }
  return { blocks, bytes, more, moreOctets };
}

/** Per session: builds the payloads and keeps count of what the session's events have shown. */
export class TranscriptPayloads {
  private left = SESSION_BUDGET;
  /** Set once the budget is spent (the session says so once). */
  spent = false;

  /** True while this session's events still show message data. */
  get open(): boolean {
    return this.left > 0;
  }

  /** The payload of a batch of FETCH output, or undefined when it carries no literal. */
  fetched(parts: readonly Buffer[]): ShownPayload | undefined {
    if (!this.open) return undefined;
    // Room is left for the line that counts the literals not shown.
    const { blocks, bytes, more, moreOctets } = fetchLiterals(parts, Math.min(this.left, EVENT_PAYLOAD_MAX) - 80);
    if (blocks.length === 0) return undefined;
    if (more > 0) blocks.push(`… and ${more} more literal${more === 1 ? '' : 's'} (${moreOctets} octets) not shown`);
    return this.take(blocks, bytes + moreOctets);
  }

  /** The payload of an APPEND: its message literals (not the mailbox name, not a CATENATE URL). */
  appended(literals: readonly ReadLiteral[]): ShownPayload | undefined {
    if (!this.open) return undefined;
    const messages: Found[] = [];
    let bytes = 0;
    for (const l of literals) {
      const line = l.line.toString('latin1', 0, Math.min(l.line.length, INTRO_MAX));
      if (/^\S+ APPEND ~?\{\d+\+?\}$/i.test(line) || /\bURL ~?\{\d+\+?\}$/i.test(line)) continue;
      bytes += l.data.length;
      if (messages.length < MAX_PER_EVENT) messages.push({ intro: '', pieces: [l.data.subarray(0, EVENT_PAYLOAD_MAX)], size: l.data.length });
    }
    if (messages.length === 0) return undefined;
    const one = messages.length === 1;
    const blocks = messages.map((f, i) => shownBlock(f, one ? undefined : `(message ${i + 1}, ${f.size} octets)`));
    if (literals.length > messages.length && messages.length === MAX_PER_EVENT) blocks.push('… (more messages not shown)');
    return this.take(blocks, bytes);
  }

  private take(blocks: string[], bytes: number): ShownPayload {
    let text = blocks.join('\r\n\r\n');
    const cap = Math.min(this.left, EVENT_PAYLOAD_MAX);
    if (text.length > cap) text = `${text.slice(0, Math.max(0, cap - 3))}\r\n…`;
    this.left = Math.max(0, this.left - text.length);
    return { text, bytes };
  }
}
