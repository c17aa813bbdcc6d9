// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): a SEARCH, UID SEARCH, SORT or UID SORT with
// RETURN (UPDATE) leaves a live context behind; while the mailbox stays selected the client is told
// how the result changes, as `* ESEARCH (TAG "t") [UID] ADDTO (position set)` and `REMOVEFROM
// (position set)`, until CANCELUPDATE "t". A session holds at most IMAP_LIMITS.maxSearchContexts; past that the search answers
// as usual with `* NO [NOUPDATE "t"]`.
//
// After each command (and each IDLE push) a context whose view did not change since its last check
// (SelectedMailbox.version) costs nothing; otherwise only the messages whose mod-sequence grew since
// the last check (new ones, changed flags) are evaluated again, with the message text read synchronously
// (the store's page-cache read) when a key needs it; expunged messages leave the result. REMOVEFROM
// goes out before the untagged responses that change sequence numbers (the EXPUNGEs), numbered as
// the client still knows the messages; ADDTO after them (after the EXISTS that introduces a message).
// A SEARCH context's position is 0 (its result is a set), a SORT context's the 1-based place.
import type { SelectedMailbox } from './selected-mailbox.js';
import { evaluate, MessageText, type OctetMatcher, type SearchMessage, type SearchNode } from './search.js';
import { sortMessages, type SortCriterion, type SortInput } from './sort.js';
import type { StoredMessage } from './store-port.js';
import { IMAP_LIMITS } from './limits.js';
import { formatSet } from './sequence-set.js';

export interface SearchContextSpec {
  tag: string;
  byUid: boolean;
  tree: SearchNode;
  /** CONTEXT=SORT: the criteria the result is ordered by. */
  sort?: readonly SortCriterion[];
  /** The result's UIDs in result order. */
  result: readonly number[];
}

interface Context extends SearchContextSpec {
  view: SelectedMailbox;
  result: number[];
  /** Every message with a mod-sequence up to this was evaluated. */
  seenModseq: number;
  /**
   * The view's UIDs at the last check: the sequence numbers the client knew then, for REMOVEFROM of
   * messages expunged since (the session's own EXPUNGE removes them before the check runs).
   */
  knownUids: readonly number[];
  /** The view's version at the last check: while it stays, no message entered, left or changed. */
  checkedVersion: number;
}

const INDEXED = new Set(['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id']);

export function searchMessage(m: StoredMessage, seq: number, recent: boolean): SearchMessage {
  return {
    seq,
    uid: m.uid,
    flags: m.flags,
    recent,
    internalDate: m.internalDate,
    size: m.size,
    modseq: m.modseq,
    indexedHeader: (field) => (INDEXED.has(field) ? (m.headers[field as keyof typeof m.headers] ?? undefined) : null),
  };
}

export function sortInput(m: StoredMessage, seq: number): SortInput & { uid: number } {
  return {
    seq,
    uid: m.uid,
    size: m.size,
    internalDate: m.internalDate,
    header: (f: string) => (m.headers as Record<string, string | undefined>)[f] ?? undefined,
  };
}

/** The session's live contexts (made on the first RETURN (UPDATE)). */
export class SearchContexts {
  private contexts: Context[] = [];

  /** Contexts of the currently selected mailbox (those of an earlier selection are dropped). */
  private live(view: SelectedMailbox | undefined): Context[] {
    if (this.contexts.some((c) => c.view !== view)) this.contexts = this.contexts.filter((c) => c.view === view);
    return this.contexts;
  }

  has(view: SelectedMailbox | undefined): boolean {
    return this.live(view).length > 0;
  }

  /** Starts a context; false when the session already holds the maximum (the caller answers NOUPDATE). */
  add(view: SelectedMailbox, spec: SearchContextSpec): boolean {
    const live = this.live(view).filter((c) => c.tag !== spec.tag);
    if (live.length >= IMAP_LIMITS.maxSearchContexts) return false;
    let seen = 0;
    for (const m of view.messages) if (m.modseq > seen) seen = m.modseq;
    live.push({ ...spec, result: [...spec.result], view, seenModseq: seen, knownUids: view.uids.slice(), checkedVersion: view.version });
    this.contexts = live;
    return true;
  }

  /** CANCELUPDATE: ends the context of `tag`; false when there is none. */
  cancel(view: SelectedMailbox | undefined, tag: string): boolean {
    const live = this.live(view);
    const i = live.findIndex((c) => c.tag === tag);
    if (i < 0) return false;
    live.splice(i, 1);
    return true;
  }

  /**
   * The session is about to report its own EXPUNGE (or MOVE) of `uids`: REMOVEFROM lines for the
   * contexts holding them, numbered as the client still knows them (to send before the EXPUNGEs).
   */
  expunging(view: SelectedMailbox, uids: readonly number[]): string[] {
    const gone = new Set(uids);
    const out: string[] = [];
    for (const c of this.live(view)) {
      c.knownUids = c.knownUids.filter((u) => !gone.has(u));
      if (!c.result.some((u) => gone.has(u))) continue;
      out.push(`${head(c)} ${items(c, 'REMOVEFROM', c.result, gone, (uid) => (c.byUid ? uid : view.seqOf(uid)))}`);
      c.result = c.result.filter((u) => !gone.has(u));
    }
    return out;
  }

  /**
   * The update lines for every live context: `removals` numbered as the client knew the messages
   * before this round of untagged responses (to send before them), `additions` numbered as they
   * are after it (to send after the EXISTS that introduces them).
   */
  updates(view: SelectedMailbox): { removals: string[]; additions: string[] } {
    const removals: string[] = [];
    const additions: string[] = [];
    const msgs = view.messages;
    const scope = { maxSeq: view.exists, maxUid: view.uids[view.uids.length - 1] ?? 0 };
    for (const c of this.live(view)) {
      // Nothing entered, left or changed since the last check: nothing to evaluate or report.
      if (c.checkedVersion === view.version) continue;
      c.checkedVersion = view.version;
      const known = c.knownUids;
      const matchers = new Map<string, OctetMatcher>();
      const inResult = new Set(c.result);
      const changed = new Map<number, boolean>();
      let seen = c.seenModseq;
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        if (m.modseq <= c.seenModseq) continue;
        if (m.modseq > seen) seen = m.modseq;
        changed.set(m.uid, matches(view, c.tree, m, i, scope, matchers));
      }
      c.seenModseq = seen;
      const removed = new Set(c.result.filter((uid) => view.seqOf(uid) === 0 || changed.get(uid) === false));
      const added = [...changed].filter(([uid, hit]) => hit && !inResult.has(uid)).map(([uid]) => uid);
      if (changed.size > 0 || known.length !== view.uids.length || removed.size > 0) c.knownUids = view.uids.slice();
      if (removed.size > 0) {
        removals.push(`${head(c)} ${items(c, 'REMOVEFROM', c.result, removed, (uid) => (c.byUid ? uid : binaryIndex(known, uid) + 1))}`);
        c.result = c.result.filter((uid) => !removed.has(uid));
      }
      if (added.length === 0) continue;
      const merged = [...c.result, ...added];
      if (c.sort) {
        const rows = merged.map((uid) => {
          const seq = view.seqOf(uid);
          return sortInput(msgs[seq - 1], seq);
        });
        c.result = sortMessages(rows, c.sort).map((r) => r.uid);
      } else c.result = merged.sort((a, b) => a - b);
      additions.push(`${head(c)} ${items(c, 'ADDTO', c.result, new Set(added), (uid) => (c.byUid ? uid : view.seqOf(uid)))}`);
    }
    return { removals, additions };
  }
}

function head(c: Context): string {
  return `* ESEARCH (TAG "${c.tag}")${c.byUid ? ' UID' : ''}`;
}

/**
 * ADDTO or REMOVEFROM data for the `members` of `result` (RFC 5267 section 4.3). A SEARCH result is
 * a set: one item with position 0 (as Dovecot). A SORT result is ordered: one item per run of
 * adjacent positions, each with its 1-based position.
 */
function items(c: Context, name: string, result: readonly number[], members: ReadonlySet<number>, num: (uid: number) => number): string {
  if (!c.sort) return `${name} (0 ${formatSet(result.filter((u) => members.has(u)).map(num))})`;
  const out: string[] = [];
  for (let i = 0; i < result.length; i++) {
    if (!members.has(result[i])) continue;
    let j = i;
    while (j + 1 < result.length && members.has(result[j + 1])) j++;
    out.push(`${name} (${i + 1} ${formatSet(result.slice(i, j + 1).map(num))})`);
    i = j;
  }
  return out.join(' ');
}

function binaryIndex(arr: readonly number[], v: number): number {
  let lo = 0;
  let hi = arr.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] === v) return mid;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** One message against the context's keys; the text is read synchronously only when a key needs it. */
function matches(
  view: SelectedMailbox,
  tree: SearchNode,
  m: StoredMessage,
  i: number,
  scope: { maxSeq: number; maxUid: number },
  matchers: Map<string, OctetMatcher>,
): boolean {
  const sm = searchMessage(m, i + 1, view.recent.has(m.uid));
  const r = evaluate(tree, sm, scope, undefined, matchers);
  if (r !== undefined) return r;
  const raw = view.folder.readSync?.(m.uid, m.size);
  return raw !== undefined && evaluate(tree, sm, scope, new MessageText(raw), matchers) === true;
}
