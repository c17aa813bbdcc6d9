// LIST and LSUB (RFC 3501 sections 6.3.8-9) with the LIST-EXTENDED forms clients use (RFC 5258):
// selection options (SUBSCRIBED, SPECIAL-USE), several patterns, RETURN (CHILDREN, SUBSCRIBED,
// SPECIAL-USE, STATUS (...)) — the last is LIST-STATUS (RFC 5819). Special-use attributes (RFC 6154)
// are always shown.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { bad } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { astr, str } from '../imap-writer.js';
import { encodeMutf7, mailboxFromWire } from '../mutf7.js';
import type { FolderEntry } from '../store-port.js';
import { astring } from './args.js';
import { parseStatusItems, statusLine } from './status.js';

/** RFC 3501 section 6.3.8: "*" matches anything, "%" anything but the delimiter; INBOX is case-insensitive. */
export function patternMatcher(pattern: string, delimiter: string): (name: string) => boolean {
  const d = delimiter.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += `[^${d}]*`;
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}$`, 's');
  const inboxRx = /^inbox/i.test(pattern) ? new RegExp(`^${re.replace(/^inbox/i, 'INBOX')}$`, 's') : undefined;
  return (name) => rx.test(name) || (inboxRx !== undefined && inboxRx.test(name));
}

function patterns(tok: Token | undefined): string[] {
  if (tok?.t === 'list') return tok.v.map((t) => mailboxFromWire(astring(t, 'pattern')));
  return [mailboxFromWire(astring(tok, 'mailbox pattern'))];
}

async function runList(s: ImapSession, cmd: ImapCommandContext, lsub: boolean): Promise<string> {
  const args = [...cmd.args];
  const selection = new Set<string>();
  const ret = new Set<string>();
  let statusItems: string[] | undefined;
  if (!lsub && args[0]?.t === 'list') {
    for (const t of args.shift()!.v as Token[]) selection.add(astring(t, 'selection option').toUpperCase());
  }
  if (args.length < 2) throw bad(`${cmd.name} needs a reference and a mailbox pattern`);
  const ref = mailboxFromWire(astring(args[0], 'reference'));
  const pats = patterns(args[1]);
  if (args.length > 2) {
    if (lsub || args.length !== 4 || astring(args[2], 'RETURN').toUpperCase() !== 'RETURN' || args[3].t !== 'list') throw bad('expected RETURN (options)');
    const opts = args[3].v;
    for (let i = 0; i < opts.length; i++) {
      const o = astring(opts[i], 'return option').toUpperCase();
      if (o === 'STATUS') {
        statusItems = parseStatusItems(opts[++i]);
      } else ret.add(o);
    }
  }
  const delim = s.store.delimiter;
  const user = s.requireUser();
  // The special case "" pattern: the hierarchy delimiter and root (section 6.3.8).
  if (pats.length === 1 && pats[0] === '') {
    s.send(`* ${lsub ? 'LSUB' : 'LIST'} (\\Noselect) ${str(delim)} ""`);
    return `OK ${cmd.name} completed`;
  }
  const folders = await s.store.list(user);
  const matchers = pats.map((p) => patternMatcher(ref + p, delim));
  const onlySubscribed = lsub || selection.has('SUBSCRIBED');
  const onlySpecial = selection.has('SPECIAL-USE');
  const showSubscribed = selection.has('SUBSCRIBED') || ret.has('SUBSCRIBED');
  const lines: string[] = [];
  const shown: FolderEntry[] = [];
  for (const f of folders) {
    if (!matchers.some((m) => m(f.name))) continue;
    if (onlySubscribed && !f.subscribed) continue;
    if (onlySpecial && !f.specialUse) continue;
    const attrs: string[] = [f.hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
    if (f.specialUse) attrs.push(f.specialUse);
    if (showSubscribed && f.subscribed) attrs.push('\\Subscribed');
    lines.push(`* ${lsub ? 'LSUB' : 'LIST'} (${attrs.join(' ')}) ${str(delim)} ${astr(encodeMutf7(f.name))}`);
    shown.push(f);
  }
  if (statusItems) {
    // LIST-STATUS: each STATUS right after its LIST line.
    const withStatus: string[] = [];
    for (let i = 0; i < shown.length; i++) {
      withStatus.push(lines[i]);
      try {
        withStatus.push(await statusLine(s, shown[i].name, statusItems));
      } catch {
        // A folder that vanished meanwhile simply has no STATUS.
      }
    }
    s.sendLines(withStatus);
  } else s.sendLines(lines);
  return `OK ${cmd.name} completed`;
}

export const listCmd: ImapCommand = { name: 'LIST', states: AUTHED, minArgs: 2, maxArgs: 5, expungeAfter: true, handler: (s, c) => runList(s, c, false) };
export const lsub: ImapCommand = { name: 'LSUB', states: AUTHED, minArgs: 2, maxArgs: 2, expungeAfter: true, handler: (s, c) => runList(s, c, true) };
