// SEARCH and UID SEARCH (RFC 3501 sections 6.4.4, 6.4.8). The cheap keys are decided from the index;
// the message octets are read (a few at a time) only for messages the cheap keys left undecided.
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import type { ImapSession } from '../imap-session.js';
import type { Token } from '../command-parser.js';
import { bad } from '../imap-errors.js';
import { compileSearch, evaluate, MessageText, usesModseq, type OctetMatcher, type SearchMessage, type SearchNode } from '../search.js';
import { readMessage } from '../fetch-response.js';
import { expandSavedKeys, saveResult, takeSave } from './searchres.js';
import { requireUtf8 } from '../utf8.js';
import { IMAP_LIMITS } from '../limits.js';
import { formatSet } from '../sequence-set.js';
import { SearchContexts, searchMessage, type SearchContextSpec } from '../search-context.js';

const BATCH = 128;
/** The reused read buffer: messages up to this size are read into it (bigger ones get their own). */
const SCRATCH_OCTETS = 256 * 1024;

/** Indexes (0-based, ascending) into the view's messages of those that match `tree`. */
export async function matchingIndexes(s: ImapSession, tree: SearchNode): Promise<number[]> {
  const view = s.selected!;
  const scope = { maxSeq: view.exists, maxUid: view.uids[view.uids.length - 1] ?? 0 };
  const matchers = new Map<string, OctetMatcher>();
  const hits: number[] = [];
  const undecided: Array<[number, SearchMessage]> = [];
  const msgs = view.messages;
  for (let i = 0; i < msgs.length; i++) {
    const sm = searchMessage(msgs[i], i + 1, view.recent.has(msgs[i].uid));
    const r = evaluate(tree, sm, scope, undefined, matchers);
    if (r === true) hits.push(i);
    else if (r === undefined) undecided.push([i, sm]);
  }
  // Messages whose answer needs the text. Where the store reads synchronously (page cache), each
  // message is read into one reused buffer and decided at once; otherwise in batches of parallel
  // reads. Either way the loop yields to other sessions every BATCH messages.
  const scratch = view.folder.readSync !== undefined ? Buffer.allocUnsafe(SCRATCH_OCTETS) : undefined;
  for (let k = 0; k < undecided.length; k += BATCH) {
    const end = Math.min(undecided.length, k + BATCH);
    if (scratch !== undefined) {
      for (let g = k; g < end; g++) {
        const [i, sm] = undecided[g];
        const raw = view.folder.readSync!(sm.uid, sm.size, scratch) ?? (await readMessage(view.folder, sm.uid, sm.size));
        if (raw !== undefined && evaluate(tree, sm, scope, new MessageText(raw), matchers) === true) hits.push(i);
      }
    } else {
      const group = undecided.slice(k, end);
      const texts = await Promise.all(group.map(([, sm]) => readMessage(view.folder, sm.uid, sm.size)));
      for (let g = 0; g < group.length; g++) {
        const raw = texts[g];
        if (raw !== undefined && evaluate(tree, group[g][1], scope, new MessageText(raw), matchers) === true) hits.push(group[g][0]);
      }
    }
    if (end < undecided.length) await new Promise((r) => setImmediate(r));
  }
  hits.sort((a, b) => a - b);
  return hits;
}

/** ESEARCH's RETURN options (RFC 4731 section 3.1), with CONTEXT=SEARCH's (RFC 5267 section 4). */
const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'ALL', 'COUNT', 'UPDATE', 'CONTEXT', 'PARTIAL']);

export interface ReturnOptions {
  options: Set<string> | undefined;
  /** RFC 5267 section 4.4: PARTIAL low:high, positions in the result (1-based, low <= high). */
  partial?: [number, number];
  rest: Token[];
}

/**
 * "RETURN (...)" before the search keys (RFC 4731): the options, or undefined when absent. An empty
 * list means ALL. PARTIAL takes a range of positions (two numbers from 1 to 2^32-1, no "*"; 4:2 is
 * 2:4); CONTEXT is a hint and changes nothing here; UPDATE asks for a live context (search-context.ts).
 */
export function parseReturn(args: Token[]): ReturnOptions {
  const first = args[0];
  if (!(first?.t === 'atom' && first.v.toUpperCase() === 'RETURN')) return { options: undefined, rest: args };
  const list = args[1];
  if (list?.t !== 'list') throw bad('RETURN needs a list of options');
  const options = new Set<string>();
  let partial: [number, number] | undefined;
  for (let i = 0; i < list.v.length; i++) {
    const t = list.v[i];
    const o = t.t === 'atom' ? t.v.toUpperCase() : '';
    if (!RETURN_OPTIONS.has(o)) throw bad(`unknown RETURN option ${o.slice(0, 20)}`);
    if (o === 'PARTIAL') {
      const r = list.v[++i];
      const m = r?.t === 'atom' ? /^(\d{1,10}):(\d{1,10})$/.exec(r.v) : null;
      const a = m ? Number(m[1]) : 0;
      const b = m ? Number(m[2]) : 0;
      if (a < 1 || b < 1 || a > 0xffffffff || b > 0xffffffff)
        throw bad('PARTIAL needs a range of positions low:high, numbers from 1 to 4294967295 (RFC 5267 section 4.4)');
      if (partial) throw bad('PARTIAL given twice');
      partial = [Math.min(a, b), Math.max(a, b)];
    }
    options.add(o);
  }
  // RFC 5267 section 4.4: PARTIAL and ALL are mutually exclusive.
  if (options.has('PARTIAL') && options.has('ALL')) throw bad('RETURN cannot have both PARTIAL and ALL (RFC 5267 section 4.4)');
  if (options.size === 0 || (options.size === 1 && options.has('CONTEXT'))) options.add('ALL');
  return { options, partial, rest: args.slice(2) };
}

/**
 * The ESEARCH response (RFC 4731 section 3.1; ESORT, RFC 5267, gives `nums` in sort order): MIN and
 * MAX the first and last, ALL the set, COUNT how many; nothing but COUNT when nothing matched.
 */
export function esearchLine(
  tag: string,
  byUid: boolean,
  options: Set<string>,
  nums: readonly number[],
  modseq?: number,
  partial?: readonly [number, number],
): string {
  // A tag never holds '"' or '\\' (RFC 3501 section 9), so it quotes as it is.
  const parts = [`* ESEARCH (TAG "${tag}")`];
  if (byUid) parts.push('UID');
  if (nums.length > 0) {
    // ESORT (RFC 5267 section 3.2): MIN and MAX are the first and last in sort order.
    if (options.has('MIN')) parts.push(`MIN ${nums[0]}`);
    if (options.has('MAX')) parts.push(`MAX ${nums[nums.length - 1]}`);
    if (options.has('ALL')) parts.push(`ALL ${formatSet(nums)}`);
  }
  // RFC 5267 section 4.4: the numbers at positions low..high of the result (NIL when there are none).
  if (partial) {
    const slice = nums.slice(partial[0] - 1, partial[1]);
    parts.push(`PARTIAL (${partial[0]}:${partial[1]} ${slice.length > 0 ? formatSet(slice) : 'NIL'})`);
  }
  if (options.has('COUNT')) parts.push(`COUNT ${nums.length}`);
  // RFC 7162 section 3.1.10: the highest mod-sequence of the messages found, when MODSEQ was searched.
  if (modseq !== undefined && nums.length > 0) parts.push(`MODSEQ ${modseq}`);
  return parts.join(' ');
}

/**
 * After ENABLE UTF8=ACCEPT or IMAP4rev2: the keys' strings are UTF-8, so a CHARSET is a conflicting
 * label (RFC 6855 section 3: BAD) and invalid UTF-8 is BAD.
 */
export function utf8Keys(keys: readonly Token[]): void {
  const first = keys[0];
  if (first?.t === 'atom' && first.v.toUpperCase() === 'CHARSET')
    throw bad('SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT: strings are UTF-8 (RFC 6855 section 3)');
  requireUtf8(keys, 'SEARCH');
}

/**
 * RETURN (UPDATE) (RFC 5267 section 4.3): keeps the result live, or says NOUPDATE when the session
 * holds the maximum of contexts or PARTIAL was asked (a live partial window is not kept).
 */
export function startContext(s: ImapSession, spec: SearchContextSpec, partial: boolean): void {
  const contexts = (s.searchContexts ??= new SearchContexts());
  if (partial) s.send(`* NO [NOUPDATE "${spec.tag}"] Live updates of a PARTIAL result are not offered`);
  else if (!contexts.add(s.selected!, spec)) {
    s.send(`* NO [NOUPDATE "${spec.tag}"] Too many live searches (at most ${IMAP_LIMITS.maxSearchContexts}); CANCELUPDATE one first`);
  }
}

async function runSearch(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const view = s.selected!;
  // SEARCHRES (RFC 5182, searchres.ts): RETURN (SAVE ...) and "$" among the keys.
  const saving = takeSave(cmd.args);
  let options: Set<string> | undefined;
  let partial: [number, number] | undefined;
  let hits: number[];
  let withModseq: boolean;
  let tree: SearchNode;
  try {
    let rest: Token[];
    ({ options, rest, partial } = parseReturn(saving.args));
    if (s.utf8) utf8Keys(rest);
    tree = compileSearch(expandSavedKeys(view, rest));
    // RFC 7162 section 3.1: a SEARCH with MODSEQ is a CONDSTORE enabling command.
    withModseq = usesModseq(tree);
    if (withModseq) s.condstoreOn();
    hits = await matchingIndexes(s, tree);
  } catch (err) {
    if (saving.save) saveResult(view, []);
    throw err;
  }
  const msgs = view.messages;
  const nums = hits.map((i) => (byUid ? msgs[i].uid : i + 1));
  if (saving.save) {
    // Section 2.4: with MIN or MAX only those are saved.
    const minMax = !saving.only && options !== undefined && (options.has('MIN') || options.has('MAX')) && !options.has('ALL') && !options.has('COUNT');
    const keep =
      minMax && hits.length > 0 ? [...new Set([...(options!.has('MIN') ? [hits[0]] : []), ...(options!.has('MAX') ? [hits[hits.length - 1]] : [])])] : hits;
    saveResult(
      view,
      keep.map((i) => msgs[i].uid),
    );
  }
  if (saving.only) return `OK ${cmd.name} completed`;
  let highest: number | undefined;
  // RFC 7162 section 3.1.10 (ESEARCH): with only MIN and/or MAX, the highest mod-sequence of the
  // messages returned; otherwise of every message found.
  const opts = options;
  const reported =
    opts !== undefined && !opts.has('ALL') && !opts.has('COUNT') && hits.length > 0
      ? [hits[0], hits[hits.length - 1]].filter((_, k) => (k === 0 ? opts.has('MIN') : opts.has('MAX')))
      : hits;
  if (withModseq) for (const i of reported) highest = Math.max(highest ?? 0, msgs[i].modseq);
  // IMAP4rev2 (RFC 9051 section 6.4.4): always ESEARCH; without RETURN, ALL is assumed.
  if (options === undefined && s.rev2) options = new Set(['ALL']);
  if (options !== undefined) s.send(esearchLine(cmd.tag, byUid, options, nums, highest, partial));
  // One line; long results are split into writes of reasonable size by the socket anyway.
  else s.send(nums.length > 0 ? `* SEARCH ${nums.join(' ')}${highest !== undefined ? ` (MODSEQ ${highest})` : ''}` : '* SEARCH');
  // CONTEXT=SEARCH (RFC 5267 section 4.3): the result stays live.
  if (options?.has('UPDATE')) startContext(s, { tag: cmd.tag, byUid, tree, result: hits.map((i) => msgs[i].uid) }, partial !== undefined);
  return `OK ${cmd.name} completed`;
}

/** CANCELUPDATE (RFC 5267 section 4.3): ends the live contexts of the given tags. */
export const cancelUpdate: ImapCommand = {
  name: 'CANCELUPDATE',
  states: SELECTED,
  minArgs: 1,
  maxArgs: IMAP_LIMITS.maxSearchContexts,
  expungeAfter: true,
  handler(s, cmd) {
    const tags = cmd.args.map((a) => (a.t === 'string' ? a.v.toString('latin1') : a.t === 'atom' ? a.v : ''));
    const missing = tags.find((t) => !s.searchContexts?.cancel(s.selected, t));
    if (missing !== undefined) throw bad(`no live search with tag ${JSON.stringify(missing.slice(0, 40))} (RFC 5267 section 4.3)`);
    return 'OK CANCELUPDATE completed';
  },
};

export const search: ImapCommand = {
  name: 'SEARCH',
  states: SELECTED,
  minArgs: 1,
  maxArgs: 10_000,
  expungeAfter: false,
  handler: (s, c) => runSearch(s, c, false),
};
export const uidSearch: ImapCommand = {
  name: 'UID SEARCH',
  states: SELECTED,
  minArgs: 1,
  maxArgs: 10_000,
  expungeAfter: true,
  handler: (s, c) => runSearch(s, c, true),
};
