// SORT and UID SORT (RFC 5256 section 3), with ESORT's RETURN options (RFC 5267 section 3): the
// search keys select the messages (the same evaluation as SEARCH), the criteria order them.
import type { Token } from '../command-parser.js';
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { compileSearch, MessageText, usesModseq } from '../search.js';
import { readMessage } from '../fetch-response.js';
import { referencesThreads } from '../thread.js';
import { orderedSubjectThreads, parseSortCriteria, sortMessages, type SortInput } from '../sort.js';
import { esearchLine, matchingIndexes, parseReturn, startContext } from './search.js';
import { requireUtf8 } from '../utf8.js';
import { sortInput } from '../search-context.js';

function charsetOf(tok: Token | undefined): void {
  const charset = tok?.t === 'atom' ? tok.v.toUpperCase() : tok?.t === 'string' ? tok.v.toString('latin1').toUpperCase() : '';
  if (charset !== 'UTF-8' && charset !== 'US-ASCII') throw no(`unsupported charset ${charset.slice(0, 30)}`, 'BADCHARSET (UTF-8 US-ASCII)');
}

/** The selected messages at `indexes` as sort input (header values from the index). */
function sortInputs(s: ImapSession, indexes: readonly number[]): Array<SortInput & { uid: number }> {
  const msgs = s.selected!.messages;
  return indexes.map((i) => sortInput(msgs[i], i + 1));
}

async function runSort(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const { options, rest, partial } = parseReturn(cmd.args);
  const [criteriaTok, charsetTok, ...keys] = rest;
  if (criteriaTok?.t !== 'list') throw bad('SORT needs (sort criteria) charset search-keys');
  const criteria = parseSortCriteria(criteriaTok.v.map((t: Token) => (t.t === 'atom' ? t.v : '')));
  charsetOf(charsetTok);
  if (keys.length === 0) throw bad('SORT needs search keys');
  if (s.utf8) requireUtf8(keys, 'SORT');
  const tree = compileSearch(keys);
  // RFC 7162 sections 3.1.5 and 3.1.9: MODSEQ in the keys enables CONDSTORE and adds the highest
  // mod-sequence of the messages found to the answer.
  const withModseq = usesModseq(tree);
  if (withModseq) s.condstoreOn();
  const hits = await matchingIndexes(s, tree);
  const sorted = sortMessages(sortInputs(s, hits), criteria);
  const nums = sorted.map((m) => (byUid ? m.uid : m.seq));
  const msgs = s.selected!.messages;
  const highest = withModseq && hits.length > 0 ? hits.reduce((n, i) => Math.max(n, msgs[i].modseq), 0) : undefined;
  if (options !== undefined) s.send(esearchLine(cmd.tag, byUid, options, nums, highest, partial));
  // CONTEXT=SORT (RFC 5267 section 4.3): a live result in sort order.
  if (options?.has('UPDATE')) startContext(s, { tag: cmd.tag, byUid, tree, sort: criteria, result: sorted.map((m) => m.uid) }, partial !== undefined);
  if (options === undefined) s.send(nums.length > 0 ? `* SORT ${nums.join(' ')}${highest !== undefined ? ` (MODSEQ ${highest})` : ''}` : '* SORT');
  return `OK ${cmd.name} completed`;
}

export const sort: ImapCommand = { name: 'SORT', states: SELECTED, minArgs: 3, maxArgs: 10_000, expungeAfter: false, handler: (s, c) => runSort(s, c, false) };
export const uidSort: ImapCommand = {
  name: 'UID SORT',
  states: SELECTED,
  minArgs: 3,
  maxArgs: 10_000,
  expungeAfter: true,
  handler: (s, c) => runSort(s, c, true),
};

/**
 * REFERENCES needs the References header, which the index does not keep: each message's head is read
 * (in batches, yielding between them) and only that field is taken from it.
 */
async function withReferences(s: ImapSession, inputs: Array<SortInput & { uid: number }>): Promise<Array<SortInput & { uid: number }>> {
  const folder = s.selected!.folder;
  const out: Array<SortInput & { uid: number }> = [];
  for (let k = 0; k < inputs.length; k += 64) {
    const group = inputs.slice(k, k + 64);
    const msgs = s.selected!.messages;
    const raws = await Promise.all(group.map((m) => readMessage(folder, m.uid, msgs[m.seq - 1].size)));
    group.forEach((m, g) => {
      const raw = raws[g];
      const refs = raw === undefined ? [] : new MessageText(raw.subarray(0, Math.min(raw.length, 256 * 1024))).headerValues('references');
      const references = refs.length > 0 ? refs.join(' ') : undefined;
      out.push({ ...m, header: (f) => (f === 'references' ? references : m.header(f)) });
    });
    if (k + 64 < inputs.length) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** THREAD and UID THREAD (RFC 5256 section 3): ORDEREDSUBJECT only (REFERENCES is not offered). */
async function runThread(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const [algTok, charsetTok, ...keys] = cmd.args;
  const alg = algTok?.t === 'atom' ? algTok.v.toUpperCase() : '';
  if (alg !== 'ORDEREDSUBJECT' && alg !== 'REFERENCES') throw bad(`unsupported threading algorithm ${alg.slice(0, 30)}`);
  charsetOf(charsetTok);
  if (keys.length === 0) throw bad('THREAD needs search keys');
  if (s.utf8) requireUtf8(keys, 'THREAD');
  const hits = await matchingIndexes(s, compileSearch(keys));
  const inputs = alg === 'REFERENCES' ? await withReferences(s, sortInputs(s, hits)) : sortInputs(s, hits);
  const num = (m: SortInput): number => (byUid ? (m as SortInput & { uid: number }).uid : m.seq);
  const text = alg === 'REFERENCES' ? referencesThreads(inputs, num) : orderedSubjectThreads(inputs, num);
  s.send(text.length > 0 ? `* THREAD ${text}` : '* THREAD');
  return `OK ${cmd.name} completed`;
}

export const thread: ImapCommand = {
  name: 'THREAD',
  states: SELECTED,
  minArgs: 3,
  maxArgs: 10_000,
  expungeAfter: false,
  handler: (s, c) => runThread(s, c, false),
};
export const uidThread: ImapCommand = {
  name: 'UID THREAD',
  states: SELECTED,
  minArgs: 3,
  maxArgs: 10_000,
  expungeAfter: true,
  handler: (s, c) => runThread(s, c, true),
};
