// FETCH and UID FETCH (RFC 3501 sections 6.4.5, 6.4.8, 7.4.2). Metadata items come from the index;
// the message octets are read only when an item needs them, a few messages ahead of the writer, and
// output is written in batches with backpressure so a FETCH 1:* never builds the whole answer.
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { bodyStructure } from '../body-structure.js';
import { envelope } from '../envelope.js';
import { partialOf, sectionOf } from '../fetch-body-section.js';
import { renderBinary } from '../fetch-binary.js';
import { parseFetchItems, type FetchItem } from '../fetch-items.js';
import { bad } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { binary } from '../imap-writer.js';
import { imapDateTime } from '../../../core/mail-format/dates.js';
import { parseMime, type MimePart } from '../mime.js';
import type { SelectedMailbox } from '../selected-mailbox.js';
import type { StoredMessage } from '../store-port.js';
import { sequenceSet } from './args.js';
import { isSavedRef, savedIndexes } from './searchres.js';
import { formatRanges, normalise, seqNumbers, toRanges, uidIndexes, type SequenceSet } from '../sequence-set.js';
import type { Token } from '../command-parser.js';
import { missingUidRanges, parseFetchModifiers } from '../condstore.js';

/** Resolves a set to 0-based indexes into the view; BAD for sequence numbers past the end. */
export function resolveSet(view: SelectedMailbox, set: SequenceSet, byUid: boolean): number[] {
  if (isSavedRef(set)) return savedIndexes(view);
  if (byUid) return uidIndexes(set, view.uids);
  const max = view.exists;
  for (const r of set) {
    if ((r.from !== 0 && r.from > max) || (r.to !== 0 && r.to > max)) throw bad('Invalid sequence number (past the last message)');
  }
  if (max === 0) {
    if (set.some((r) => r.from === 0 || r.to === 0)) throw bad('Invalid sequence number: the mailbox is empty');
    return [];
  }
  return seqNumbers(set, max).map((n) => n - 1);
}

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

/** Sets \Seen on the messages that lack it (a body fetch without PEEK, section 6.4.5); true if any changed. */
async function markSeen(s: ImapSession, view: SelectedMailbox, indexes: readonly number[]): Promise<boolean> {
  const unseen: number[] = [];
  for (const i of indexes) {
    const m = view.messages[i];
    if (!m.flags.includes('\\Seen')) unseen.push(m.uid);
  }
  if (unseen.length === 0) return false;
  const { messages } = await view.folder.updateFlags(unseen, 'add', ['\\Seen'], s);
  for (const m of messages) view.update(m);
  // Messages another session expunged meanwhile are not changed (nor is their FLAGS worth sending).
  return messages.length > 0;
}

/** A FETCH modifier list (RFC 4466) after the items: "(CHANGEDSINCE n [VANISHED])". */
function hasModifiers(args: readonly Token[]): boolean {
  const last = args[args.length - 1];
  return args.length === 3 && last.t === 'list' && last.v[0]?.t === 'atom' && /^(CHANGEDSINCE|VANISHED)$/i.test(last.v[0].v);
}

/**
 * UIDs of `ranges` expunged since `modseq` that this session's view no longer has (RFC 7162 VANISHED
 * (EARLIER)), as ranges; only those above `floor` (seq-match data). When the store's expunge history
 * does not reach back that far, every UID of `ranges` not in the mailbox (section 3.2.6, note).
 */
export function vanishedSince(view: SelectedMailbox, modseq: number, ranges: ReadonlyArray<readonly [number, number]>, floor: number): Array<[number, number]> {
  const clipped: Array<[number, number]> = [];
  for (const [a, b] of ranges) if (b > floor) clipped.push([Math.max(a, floor + 1), b]);
  const history = view.folder.expungedSince(modseq);
  if (!history.complete) {
    const uidNext = Math.max(view.uidNextAtSelect, (view.uids[view.uids.length - 1] ?? 0) + 1);
    return missingUidRanges(clipped, view.uids, uidNext);
  }
  const out: number[] = [];
  let r = 0;
  for (const uid of history.uids) {
    while (r < clipped.length && clipped[r][1] < uid) r++;
    if (r === clipped.length) break;
    // A UID this view still shows is reported when its expunge is (VANISHED without EARLIER).
    if (uid >= clipped[r][0] && view.seqOf(uid) === 0) out.push(uid);
  }
  return toRanges(out);
}

export async function runFetch(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const view = s.selected!;
  const set = sequenceSet(cmd.args[0]);
  const modifiers = hasModifiers(cmd.args) ? parseFetchModifiers(cmd.args[2]) : undefined;
  if (modifiers?.vanished && !byUid) throw bad('VANISHED is a UID FETCH modifier');
  if (modifiers?.vanished && !s.qresync) throw bad('VANISHED needs ENABLE QRESYNC first');
  const plan = parseFetchItems(cmd.args.length === 2 || modifiers ? cmd.args[1] : { t: 'list', v: cmd.args.slice(1) });
  const items = [...plan.items];
  // UID FETCH always returns the UID (section 6.4.8).
  if (byUid && !items.some((i) => i.k === 'UID')) items.unshift({ k: 'UID' });
  // CONDSTORE enabling (RFC 7162 section 3.1): the MODSEQ item, CHANGEDSINCE (which implies MODSEQ).
  const wantsModseq = items.some((i) => i.k === 'MODSEQ');
  if (wantsModseq || modifiers?.changedSince !== undefined) s.condstoreOn();
  if (modifiers?.changedSince !== undefined && !wantsModseq) items.push({ k: 'MODSEQ' });
  // A FETCH that sets \Seen reports the change with UID and MODSEQ to a CONDSTORE-aware client (section 3.2.4).
  if (plan.setsSeen && s.condstore) {
    if (!items.some((i) => i.k === 'UID')) items.push({ k: 'UID' });
    if (!items.some((i) => i.k === 'MODSEQ')) items.push({ k: 'MODSEQ' });
  }
  let indexes = resolveSet(view, set, byUid);
  if (modifiers?.vanished) {
    const vanished = vanishedSince(view, modifiers.changedSince!, normalise(set, Math.max(view.uidNextAtSelect - 1, view.uids[view.uids.length - 1] ?? 0)), 0);
    if (vanished.length > 0) s.send(`* VANISHED (EARLIER) ${formatRanges(vanished)}`);
  }
  if (modifiers?.changedSince !== undefined) {
    const since = modifiers.changedSince;
    indexes = indexes.filter((i) => view.messages[i].modseq > since);
  }
  // Fetching a body sets \Seen (section 6.4.5); the new flags are returned with the data.
  if (plan.setsSeen && !view.readOnly && (await markSeen(s, view, indexes)) && !items.some((i) => i.k === 'FLAGS')) items.push({ k: 'FLAGS' });
  const missing = await writeFetchResponses(s, view, indexes, items, plan.needsText);
  // RFC 2180 section 4.1.3 (see renderGone): the data that could be sent was, and the client is told why some was NIL.
  if (missing > 0)
    return `OK [EXPUNGEISSUED] ${byUid ? 'UID FETCH' : 'FETCH'} completed; ${missing} message(s) were expunged by another session (their content is NIL)`;
  return `OK ${byUid ? 'UID FETCH' : 'FETCH'} completed`;
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

export const fetch: ImapCommand = { name: 'FETCH', states: SELECTED, minArgs: 2, maxArgs: 50, expungeAfter: false, handler: (s, c) => runFetch(s, c, false) };
export const uidFetch: ImapCommand = {
  name: 'UID FETCH',
  states: SELECTED,
  minArgs: 2,
  maxArgs: 50,
  expungeAfter: true,
  handler: (s, c) => runFetch(s, c, true),
};
