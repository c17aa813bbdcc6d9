// FETCH and UID FETCH (RFC 3501 sections 6.4.5, 6.4.8, 7.4.2). Metadata items come from the index;
// the message octets are read only when an item needs them, a few messages ahead of the writer, and
// output is written in batches with backpressure so a FETCH 1:* never builds the whole answer.
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { parseFetchItems } from '../fetch-items.js';
import { bad } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import type { SelectedMailbox } from '../selected-mailbox.js';
import { sequenceSet } from './args.js';
import { isSavedRef, savedIndexes } from './searchres.js';
import { formatRanges, normalise, seqNumbers, toRanges, uidIndexes, type SequenceSet } from '../sequence-set.js';
import type { Token } from '../command-parser.js';
import { missingUidRanges, parseFetchModifiers } from '../condstore.js';
import { writeFetchResponses } from '../fetch-response.js';

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

export const fetch: ImapCommand = { name: 'FETCH', states: SELECTED, minArgs: 2, maxArgs: 50, expungeAfter: false, handler: (s, c) => runFetch(s, c, false) };
export const uidFetch: ImapCommand = {
  name: 'UID FETCH',
  states: SELECTED,
  minArgs: 2,
  maxArgs: 50,
  expungeAfter: true,
  handler: (s, c) => runFetch(s, c, true),
};
