// LIST and LSUB (RFC 3501 sections 6.3.8-9) with LIST-EXTENDED (RFC 5258): selection options
// (SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE), several patterns, RETURN (CHILDREN, SUBSCRIBED,
// SPECIAL-USE, STATUS (...)) — the last is LIST-STATUS (RFC 5819) — and \NonExistent for subscribed
// names without a mailbox. There are no remote mailboxes, so REMOTE changes nothing. Special-use
// attributes (RFC 6154) and \HasChildren/\HasNoChildren (CHILDREN, RFC 3348) are always shown.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { bad } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { str } from '../imap-writer.js';
import { mailboxFromWire } from '../mutf7.js';
import type { FolderEntry } from '../store-port.js';
import { IMAP_LIMITS } from '../limits.js';
import { patternMatcher } from '../list-pattern.js';
import { astring } from './args.js';
import { parseStatusItems, statusLine } from './status.js';

function patterns(tok: Token | undefined, utf8: boolean): string[] {
  const list = tok?.t === 'list' ? tok.v.map((t) => mailboxFromWire(astring(t, 'pattern'), utf8)) : [mailboxFromWire(astring(tok, 'mailbox pattern'), utf8)];
  if (list.length > IMAP_LIMITS.maxListPatterns) throw bad(`at most ${IMAP_LIMITS.maxListPatterns} patterns`);
  return list;
}

/** The parents of `name` ("a/b/c" gives "a" and "a/b"), shortest first. */
function parents(name: string, delim: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(delim); i > 0; i = name.indexOf(delim, i + 1)) out.push(name.slice(0, i));
  return out;
}

const SELECTION_OPTIONS = new Set(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);
const RETURN_OPTIONS = new Set(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE']);

/** A name LIST can answer: a folder, or (RFC 5258 \NonExistent) a subscription without a folder. */
interface ListEntry extends FolderEntry {
  exists: boolean;
}

async function runList(s: ImapSession, cmd: ImapCommandContext, lsub: boolean): Promise<string> {
  const args = [...cmd.args];
  const selection = new Set<string>();
  const ret = new Set<string>();
  let statusItems: string[] | undefined;
  if (!lsub && args[0]?.t === 'list') {
    // RFC 5258 section 3: an unknown selection option, or RECURSIVEMATCH without an option it could
    // apply to (alone or with REMOTE only), is BAD.
    for (const t of args.shift()!.v as Token[]) {
      const o = astring(t, 'selection option').toUpperCase();
      if (!SELECTION_OPTIONS.has(o)) throw bad(`unknown LIST selection option ${o.slice(0, 30)}`);
      selection.add(o);
    }
    if (selection.has('RECURSIVEMATCH') && ![...selection].some((o) => o !== 'RECURSIVEMATCH' && o !== 'REMOTE')) {
      throw bad('RECURSIVEMATCH needs another selection option (RFC 5258 section 3)');
    }
  }
  if (args.length < 2) throw bad(`${cmd.name} needs a reference and a mailbox pattern`);
  const ref = mailboxFromWire(astring(args[0], 'reference'), s.utf8);
  const pats = patterns(args[1], s.utf8);
  if (pats.some((p) => ref.length + p.length > IMAP_LIMITS.maxListPattern)) throw bad(`mailbox pattern longer than ${IMAP_LIMITS.maxListPattern} characters`);
  if (args.length > 2) {
    if (lsub || args.length !== 4 || astring(args[2], 'RETURN').toUpperCase() !== 'RETURN' || args[3].t !== 'list') throw bad('expected RETURN (options)');
    const opts = args[3].v;
    for (let i = 0; i < opts.length; i++) {
      const o = astring(opts[i], 'return option').toUpperCase();
      if (o === 'STATUS') {
        statusItems = parseStatusItems(opts[++i]);
      } else if (RETURN_OPTIONS.has(o)) ret.add(o);
      else throw bad(`unknown LIST return option ${o.slice(0, 30)}`);
    }
  }
  const delim = s.store.delimiter;
  const user = s.requireUser();
  // The special case "" pattern: the hierarchy delimiter and root (section 6.3.8).
  if (pats.length === 1 && pats[0] === '') {
    s.send(`* ${lsub ? 'LSUB' : 'LIST'} (\\Noselect) ${str(delim)} ""`);
    return `OK ${cmd.name} completed`;
  }
  const onlySubscribed = lsub || selection.has('SUBSCRIBED');
  const onlySpecial = selection.has('SPECIAL-USE');
  const showSubscribed = selection.has('SUBSCRIBED') || ret.has('SUBSCRIBED');
  const recursive = selection.has('RECURSIVEMATCH');
  const folders = await s.store.list(user);
  const entries: ListEntry[] = folders.map((f) => ({ ...f, exists: true }));
  const byName = new Map(entries.map((f) => [f.name, f]));
  if (onlySubscribed) {
    // Subscriptions whose mailbox does not exist (any more): LSUB lists them (RFC 3501 section
    // 6.3.9), LIST (SUBSCRIBED) with \NonExistent (RFC 5258 section 3.1).
    const inner = new Set<string>();
    for (const f of folders) for (const p of parents(f.name, delim)) inner.add(p);
    const subs = (await s.store.subscriptions(user)).filter((n) => !byName.has(n)).sort();
    for (const name of subs.slice(0, IMAP_LIMITS.maxListSubscriptionsShown)) {
      const e: ListEntry = { name, subscribed: true, hasChildren: inner.has(name), exists: false };
      entries.push(e);
      byName.set(name, e);
    }
  }
  const matchers = pats.map((p) => patternMatcher(ref + p, delim));
  const matchesAny = (name: string): boolean => matchers.some((m) => m(name));
  const selected = (f: ListEntry): boolean => (!onlySubscribed || f.subscribed) && (!onlySpecial || f.specialUse !== undefined) && (f.exists || onlySubscribed);
  // RFC 3501 sections 6.3.8 and 6.3.9: when "%" stops at a parent that is not listed in its own right
  // (it does not exist, or for LSUB is not subscribed) while a name below it would be, the parent is
  // answered with \Noselect. RECURSIVEMATCH (RFC 5258 section 3.5): a matching name with a selected
  // descendant that no pattern matches is answered with CHILDINFO, whether selected itself or not.
  const stand = new Set<string>();
  const childInfo = new Set<string>();
  for (const f of entries) {
    if (!selected(f) || matchesAny(f.name)) continue;
    for (const p of parents(f.name, delim)) {
      if (!matchesAny(p)) continue;
      if (recursive) {
        childInfo.add(p);
        continue;
      }
      if (onlySpecial) continue;
      const pf = byName.get(p);
      const missing = lsub ? pf === undefined || !pf.subscribed : pf === undefined && !onlySubscribed;
      if (missing) stand.add(p);
    }
  }
  const lines: string[] = [];
  const withStatus: Array<string | undefined> = [];
  const line = (attrs: string[], name: string, extra = ''): string =>
    `* ${lsub ? 'LSUB' : 'LIST'} (${attrs.join(' ')}) ${str(delim)} ${s.mailboxOut(name)}${extra}`;
  const criteria = [...selection].filter((o) => o === 'SUBSCRIBED' || o === 'SPECIAL-USE');
  const childInfoItem = ` ("CHILDINFO" (${criteria.map((o) => `"${o}"`).join(' ')}))`;
  for (const f of entries) {
    if (!matchesAny(f.name) || !selected(f)) continue;
    // LSUB answers name attributes only (\Noselect), as RFC 3501's examples and Dovecot do.
    const attrs: string[] = [];
    if (!lsub) {
      if (!f.exists) attrs.push('\\NonExistent');
      if (f.exists || f.hasChildren) attrs.push(f.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
      if (f.specialUse) attrs.push(f.specialUse);
      if (showSubscribed && f.subscribed) attrs.push('\\Subscribed');
    }
    lines.push(line(attrs, f.name, childInfo.delete(f.name) ? childInfoItem : ''));
    withStatus.push(f.exists ? f.name : undefined);
  }
  for (const p of [...childInfo].sort()) {
    // Parents answered only for their children: not selected themselves (RFC 5258 section 3.5).
    const pf = byName.get(p);
    const attrs = pf?.exists ? [pf.hasChildren ? '\\HasChildren' : '\\HasNoChildren'] : ['\\NonExistent', '\\HasChildren'];
    if (pf?.specialUse) attrs.push(pf.specialUse);
    if (showSubscribed && pf?.subscribed) attrs.push('\\Subscribed');
    lines.push(line(attrs, p, childInfoItem));
    withStatus.push(undefined);
  }
  for (const p of [...stand].sort()) {
    // IMAP4rev2 (RFC 9051 section 6.3.9.8, example a2): a parent that does not exist is \NonExistent.
    lines.push(line(lsub ? ['\\Noselect'] : [s.rev2 ? '\\NonExistent' : '\\Noselect', '\\HasChildren'], p));
    withStatus.push(undefined);
  }
  if (statusItems) {
    // LIST-STATUS (RFC 5819): each STATUS right after its LIST line; none for names that cannot be
    // selected.
    const out: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      out.push(lines[i]);
      const name = withStatus[i];
      if (name === undefined) continue;
      try {
        out.push(await statusLine(s, name, statusItems));
      } catch {
        // A folder that vanished meanwhile simply has no STATUS.
      }
    }
    s.sendLines(out);
  } else s.sendLines(lines);
  return `OK ${cmd.name} completed`;
}

export const listCmd: ImapCommand = { name: 'LIST', states: AUTHED, minArgs: 2, maxArgs: 5, expungeAfter: true, handler: (s, c) => runList(s, c, false) };
export const lsub: ImapCommand = { name: 'LSUB', states: AUTHED, minArgs: 2, maxArgs: 2, expungeAfter: true, handler: (s, c) => runList(s, c, true) };
