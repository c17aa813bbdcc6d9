// SEARCH and UID SEARCH (RFC 3501 sections 6.4.4, 6.4.8). The cheap keys are decided from the index;
// the message octets are read (a few at a time) only for messages the cheap keys left undecided.
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import type { ImapSession } from '../imap-session.js';
import { compileSearch, evaluate, MessageText, type OctetMatcher, type SearchMessage } from '../search.js';
import type { StoredMessage } from '../store-port.js';
import { readMessage } from './fetch.js';

const INDEXED = new Set(['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id']);
const BATCH = 128;
/** The reused read buffer: messages up to this size are read into it (bigger ones get their own). */
const SCRATCH_OCTETS = 256 * 1024;

function searchMessage(m: StoredMessage, seq: number, recent: boolean): SearchMessage {
  return {
    seq,
    uid: m.uid,
    flags: m.flags,
    recent,
    internalDate: m.internalDate,
    size: m.size,
    indexedHeader: (field) => (INDEXED.has(field) ? (m.headers[field as keyof typeof m.headers] ?? undefined) : null),
  };
}

async function runSearch(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const view = s.selected!;
  const tree = compileSearch(cmd.args);
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
  const nums = hits.map((i) => (byUid ? msgs[i].uid : i + 1));
  // One line; long results are split into writes of reasonable size by the socket anyway.
  s.send(nums.length > 0 ? `* SEARCH ${nums.join(' ')}` : '* SEARCH');
  return `OK ${cmd.name} completed`;
}

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
