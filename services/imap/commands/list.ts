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
import { IMAP_LIMITS } from '../limits.js';
import { patternMatcher } from '../list-pattern.js';
import { astring } from './args.js';
import { parseStatusItems, statusLine } from './status.js';

function patterns(tok: Token | undefined): string[] {
  const list = tok?.t === 'list' ? tok.v.map((t) => mailboxFromWire(astring(t, 'pattern'))) : [mailboxFromWire(astring(tok, 'mailbox pattern'))];
  if (list.length > IMAP_LIMITS.maxListPatterns) throw bad(`at most ${IMAP_LIMITS.maxListPatterns} patterns`);
  return list;
}

/** The parents of `name` ("a/b/c" gives "a" and "a/b"), shortest first. */
function parents(name: string, delim: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(delim); i > 0; i = name.indexOf(delim, i + 1)) out.push(name.slice(0, i));
  return out;
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
  if (pats.some((p) => ref.length + p.length > IMAP_LIMITS.maxListPattern)) throw bad(`mailbox pattern longer than ${IMAP_LIMITS.maxListPattern} characters`);
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
  const matchesAny = (name: string): boolean => matchers.some((m) => m(name));
  // RFC 3501 sections 6.3.8 and 6.3.9: when "%" stops at a parent that is not listed in its own right
  // (it does not exist, or for LSUB is not subscribed) while a name below it would be, the parent is
  // answered with \Noselect.
  const byName = new Map(folders.map((f) => [f.name, f]));
  const listed = (f: FolderEntry): boolean => (!onlySubscribed || f.subscribed) && (!onlySpecial || f.specialUse !== undefined);
  const stand = new Set<string>();
  if (!onlySpecial) {
    for (const f of folders) {
      if (!listed(f) || matchesAny(f.name)) continue;
      for (const p of parents(f.name, delim)) {
        const pf = byName.get(p);
        const missing = lsub ? pf === undefined || !pf.subscribed : pf === undefined && !onlySubscribed;
        if (missing && matchesAny(p)) stand.add(p);
      }
    }
  }
  for (const f of folders) {
    if (!matchesAny(f.name)) continue;
    if (!listed(f)) continue;
    // LSUB answers name attributes only (\Noselect), as RFC 3501's examples and Dovecot do.
    const attrs: string[] = lsub ? [] : [f.hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
    if (f.specialUse && !lsub) attrs.push(f.specialUse);
    if (showSubscribed && f.subscribed) attrs.push('\\Subscribed');
    lines.push(`* ${lsub ? 'LSUB' : 'LIST'} (${attrs.join(' ')}) ${str(delim)} ${astr(encodeMutf7(f.name))}`);
    shown.push(f);
  }
  for (const p of [...stand].sort()) {
    const attrs = lsub ? ['\\Noselect'] : ['\\Noselect', '\\HasChildren'];
    lines.push(`* ${lsub ? 'LSUB' : 'LIST'} (${attrs.join(' ')}) ${str(delim)} ${astr(encodeMutf7(p))}`);
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
    s.sendLines([...withStatus, ...lines.slice(shown.length)]);
  } else s.sendLines(lines);
  return `OK ${cmd.name} completed`;
}

export const listCmd: ImapCommand = { name: 'LIST', states: AUTHED, minArgs: 2, maxArgs: 5, expungeAfter: true, handler: (s, c) => runList(s, c, false) };
export const lsub: ImapCommand = { name: 'LSUB', states: AUTHED, minArgs: 2, maxArgs: 2, expungeAfter: true, handler: (s, c) => runList(s, c, true) };
