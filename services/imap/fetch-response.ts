// The FETCH response writer (RFC 3501 section 7.4.2), shared by FETCH and UID FETCH, by SELECT's
// QRESYNC resynchronisation and by NOTIFY's pushed FETCH responses: message octets are read a few
// messages ahead of the writer and output goes out in batches with backpressure, never whole.

import { bodyStructure } from './body-structure.js';
import { envelope } from './envelope.js';
import { partialOf, sectionOf } from './fetch-body-section.js';
import { renderBinary } from './fetch-binary.js';
import type { FetchItem } from './fetch-items.js';
import type { ImapSession } from './imap-session.js';
import { binary } from './imap-writer.js';
import { imapDateTime } from '../../core/mail-format/dates.js';
import { parseMime, type MimePart } from './mime.js';
import type { SelectedMailbox } from './selected-mailbox.js';
import type { StoredMessage } from './store-port.js';

const READ_AHEAD = 8;

/** A message's octets: a synchronous read when the store can (page cache), else asynchronous. */
export function readMessage(folder: SelectedMailbox['folder'], uid: number, size?: number): Promise<Buffer | undefined> {
  const now = folder.readSync?.(uid, size);
  if (now) return Promise.resolve(now);
  return folder.read(uid).catch(() => undefined);
}

const BATCH_OCTETS = 128 * 1024;

function headerGetter(m: StoredMessage): (k: string) => string | undefined {
  return (k) => {
    const v = m.headers[k as keyof typeof m.headers];
    return v === undefined ? undefined : binary(v);
  };
}

/**
 * ENVELOPE strings, cached by the message's (immutable) header index entry: a flag change keeps the
 * same headers object. Dovecot keeps envelopes in its cache file for the same reason.
 */
const envelopes = new WeakMap<object, string>();

function cachedEnvelope(m: StoredMessage): string {
  let e = envelopes.get(m.headers);
  if (e === undefined) {
    e = envelope(headerGetter(m));
    envelopes.set(m.headers, e);
  }
  return e;
}

function literal(data: Buffer): Buffer[] {
  return [Buffer.from(`{${data.length}}\r\n`, 'latin1'), data];
}

/** One message being rendered: its octets and, when an item needs it, its MIME tree (parsed once). */
class FetchedMessage {
  private root: MimePart | undefined = undefined;
  constructor(
    readonly m: StoredMessage,
    readonly raw: Buffer | undefined,
  ) {}
  mime(): MimePart {
    if (this.root === undefined) this.root = parseMime(this.raw!);
    return this.root;
  }
}

/**
 * The body structure sent for a message whose octets are gone (the shape Dovecot sends, which
 * imaptest and clients recognise as "no data": a BODY/BODYSTRUCTURE may not be NIL).
 */
const GONE_BODY = '("text" "plain" NIL NIL NIL "7bit" 0 0)';

/** The name of a body item as it is answered (BODY[1.HEADER]<0>, RFC822.TEXT...). */
function bodyItemName(item: FetchItem): string {
  if (item.k !== 'SECTION') return item.k;
  if (item.binary) return `${item.binary === 'size' ? 'BINARY.SIZE' : 'BINARY'}[${item.section.text}]${item.partial ? `<${item.partial.offset}>` : ''}`;
  return `BODY[${item.section.text}]${item.partial ? `<${item.partial.offset}>` : ''}`;
}

/**
 * A message expunged by another session that this session has not been told about yet (RFC 2180
 * section 4.1): its metadata (UID, FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE) still comes from the
 * index, as the client knew it, and what needs the octets (which are gone) is NIL, or the empty body
 * structure: RFC 2180 4.1.3's "NIL FETCH responses", the behaviour Dovecot has for mails it can no
 * longer read. We chose it over a tagged NO (4.1.2) because clients cope with it best: a NO to a FETCH
 * of many messages makes Thunderbird and others report the whole FETCH as failed and drop the data
 * of the messages that did exist, while the NIL items of a message that is about to be reported as
 * expunged are thrown away with it. The tagged OK carries [EXPUNGEISSUED] (RFC 5530) so the client
 * knows to NOOP soon. Keeping the octets until every session was told (4.1.1) would need the store to
 * defer the unlink of expunged files, which it does not do.
 */
function renderGone(item: FetchItem, out: Array<string | Buffer>): void {
  if (item.k === 'BODY' || item.k === 'BODYSTRUCTURE') out.push(`${item.k} ${GONE_BODY}`);
  else if (item.k === 'SECTION' && item.binary === 'size') out.push(`${bodyItemName(item)} 0`);
  else out.push(`${bodyItemName(item)} NIL`);
}

function renderItem(s: ImapSession, item: FetchItem, f: FetchedMessage, out: Array<string | Buffer>): void {
  const m = f.m;
  switch (item.k) {
    case 'UID':
      out.push(`UID ${m.uid}`);
      return;
    case 'FLAGS':
      out.push(s.flagsItem(m));
      return;
    case 'INTERNALDATE':
      out.push(`INTERNALDATE "${imapDateTime(m.internalDate)}"`);
      return;
    case 'RFC822.SIZE':
      out.push(`RFC822.SIZE ${m.size}`);
      return;
    case 'ENVELOPE':
      out.push(`ENVELOPE ${cachedEnvelope(m)}`);
      return;
    case 'MODSEQ':
      out.push(`MODSEQ (${m.modseq})`);
      return;
  }
  if (f.raw === undefined) return renderGone(item, out);
  switch (item.k) {
    case 'BODYSTRUCTURE':
      out.push(`BODYSTRUCTURE ${bodyStructure(f.raw, f.mime(), true)}`);
      return;
    case 'BODY':
      out.push(`BODY ${bodyStructure(f.raw, f.mime(), false)}`);
      return;
    case 'RFC822':
      out.push('RFC822 ', ...literal(f.raw));
      return;
    case 'RFC822.HEADER':
      out.push('RFC822.HEADER ', ...literal(f.raw.subarray(0, f.mime().headerEnd)));
      return;
    case 'RFC822.TEXT':
      out.push('RFC822.TEXT ', ...literal(f.raw.subarray(f.mime().bodyStart)));
      return;
    case 'SECTION': {
      if (item.binary) return renderBinary(item, f.raw, () => f.mime(), out);
      // BODY[] is the whole message: no MIME parse needed.
      let data = sectionOf(f.raw, () => f.mime(), item.section) ?? Buffer.alloc(0);
      let origin = '';
      if (item.partial) {
        data = partialOf(data, item.partial.offset, item.partial.length);
        origin = `<${item.partial.offset}>`;
      }
      out.push(`BODY[${item.section.text}]${origin} `, ...literal(data));
      return;
    }
  }
}

/**
 * Responses not yet handed to the session. Plain methods on one class rather than closures made per
 * command: V8 had specialised the optimised FETCH code on the first command's closures and threw it
 * away again on every later command (a deoptimisation per FETCH).
 */
class FetchBatch {
  parts: Array<string | Buffer> = [];
  octets = 0;
  count = 0;

  /** Hands the batch to the session as Buffers, runs of strings joined into one latin1 conversion. */
  flush(s: ImapSession): void {
    if (this.parts.length === 0) return;
    const bufs: Buffer[] = [];
    let octets = 0;
    let run = '';
    for (const p of this.parts) {
      if (typeof p === 'string') run += p;
      else {
        if (run.length > 0) {
          const b = Buffer.from(run, 'latin1');
          bufs.push(b);
          octets += b.length;
          run = '';
        }
        bufs.push(p);
        octets += p.length;
      }
    }
    if (run.length > 0) {
      const b = Buffer.from(run, 'latin1');
      bufs.push(b);
      octets += b.length;
    }
    // The pieces go to the session's held output as they are (one copy, when the answer is written).
    s.sendBuffers(bufs, octets, `${this.count} FETCH responses (${octets} octets)`);
    this.parts = [];
    this.octets = 0;
    this.count = 0;
  }
}

/** Writes one FETCH response per message; returns how many had vanished from the store meanwhile. */
export async function writeFetchResponses(
  s: ImapSession,
  view: SelectedMailbox,
  indexes: readonly number[],
  items: readonly FetchItem[],
  needsText: boolean,
): Promise<number> {
  const n = indexes.length;
  // Octets are read a few messages ahead of the writer (synchronously where the store can).
  const reads = new Array<Promise<Buffer | undefined> | undefined>(n);
  let readTo = 0;
  let missing = 0;
  const batch = new FetchBatch();
  for (let j = 0; j < n; j++) {
    if (s.conn.closed) break;
    const m = view.messages[indexes[j]];
    let raw: Buffer | undefined;
    if (needsText) {
      for (; readTo < n && readTo < j + READ_AHEAD; readTo++) {
        const r = view.messages[indexes[readTo]];
        reads[readTo] = readMessage(view.folder, r.uid, r.size);
      }
      raw = await reads[j];
      reads[j] = undefined;
      // Expunged by another session and not yet reported to this one: NIL content (RFC 2180 4.1.3).
      if (raw === undefined) missing++;
    }
    const f = new FetchedMessage(m, raw);
    batch.parts.push(`* ${indexes[j] + 1} FETCH (`);
    for (let p = 0; p < items.length; p++) {
      if (p > 0) batch.parts.push(' ');
      const before = batch.parts.length;
      renderItem(s, items[p], f, batch.parts);
      for (let q = before; q < batch.parts.length; q++) batch.octets += batch.parts[q].length;
      // One message's answer can be big too (FETCH 1 (BODY.PEEK[] BODY.PEEK[] ...) on a 1 MB message):
      // it goes out in pieces as the client reads, never held whole (issue 14).
      if (batch.octets >= BATCH_OCTETS) {
        batch.flush(s);
        if (s.pendingOctets > BATCH_OCTETS) await s.flushAndDrain();
        if (s.conn.closed) return missing;
      }
    }
    batch.parts.push(')\r\n');
    batch.octets += 64;
    batch.count++;
    if (batch.octets >= BATCH_OCTETS) {
      batch.flush(s);
      if (s.pendingOctets > BATCH_OCTETS) await s.flushAndDrain();
    }
  }
  batch.flush(s);
  return missing;
}
