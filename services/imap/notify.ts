// NOTIFY (RFC 5465): the argument grammar, and one session's registered events. Changes to mailboxes
// other than the selected one come from the mail store's folder watchers (the same change events the
// selected view queues) and from the service's mailbox-list hub (CREATE, DELETE, RENAME, SUBSCRIBE made
// through IMAP); they are coalesced per mailbox, so what waits for the client is bounded by the
// mailboxes watched plus a capped queue of LIST lines. The selected mailbox keeps its own machinery
// (selected-mailbox.ts); NOTIFY only says when its changes may be pushed and which FETCH items a new
// message gets (imap-session.ts).
import type { Token } from './command-parser.js';
import { parseFetchItems, type FetchItem } from './fetch-items.js';
import { bad, no } from './imap-errors.js';
import { statusResponse, str } from './imap-writer.js';
import { IMAP_LIMITS } from './limits.js';
import type { FolderChangeEvent, ImapStore } from './store-port.js';

/** Section 5: the events; the last three need METADATA/ANNOTATE, which labnet does not have. */
export const NOTIFY_EVENTS = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
const UNSUPPORTED = new Set<NotifyEvent>(['AnnotationChange', 'MailboxMetadataChange', 'ServerMetadataChange']);
const BY_UPPER = new Map<string, NotifyEvent>(NOTIFY_EVENTS.map((e) => [e.toUpperCase(), e]));

export type NotifyFilter = { kind: 'inboxes' | 'personal' | 'subscribed' } | { kind: 'subtree' | 'mailboxes'; names: string[] };

export interface NotifyGroup {
  filter: NotifyFilter;
  events: ReadonlySet<NotifyEvent>;
}

export interface SelectedEvents {
  /** `selected` (expunges may be pushed at once) rather than `selected-delayed` (section 6). */
  immediateExpunge: boolean;
  events: ReadonlySet<NotifyEvent>;
  /** MessageNew's fetch-att list: a FETCH of each new message (section 5.2). */
  fetch?: { items: FetchItem[]; needsText: boolean };
}

export type NotifyRequest = { kind: 'none' } | { kind: 'set'; status: boolean; selected?: SelectedEvents; groups: NotifyGroup[] };

function word(tok: Token | undefined): string | undefined {
  return tok?.t === 'atom' ? tok.v.toUpperCase() : undefined;
}

/**
 * Parses NOTIFY's arguments (section 8):
 *   notify = "NOTIFY" SP (notify-set / notify-none)
 *   notify-set = "SET" [SP "STATUS"] SP event-group *(SP event-group)
 *   event-group = "(" filter-mailboxes SP events ")"
 * `mailboxName` reads one mailbox (the session's name rules). Syntax errors are BAD; events labnet
 * cannot report are NO [BADEVENT (...)] (section 3.1), naming them as Dovecot does; more mailbox
 * names than the limit are NO [NOTIFICATIONOVERFLOW].
 */
export function parseNotify(args: readonly Token[], mailboxName: (t: Token) => string): NotifyRequest {
  const verb = word(args[0]);
  if (verb === 'NONE') {
    if (args.length !== 1) throw bad('NOTIFY NONE takes no arguments');
    return { kind: 'none' };
  }
  if (verb !== 'SET') throw bad('NOTIFY SET or NOTIFY NONE expected');
  let i = 1;
  const status = word(args[i]) === 'STATUS';
  if (status) i++;
  if (i >= args.length) throw bad('NOTIFY SET needs at least one event group');
  if (args.length - i > IMAP_LIMITS.maxNotifyGroups) throw bad(`NOTIFY SET takes at most ${IMAP_LIMITS.maxNotifyGroups} event groups`);
  const unsupported = new Set<NotifyEvent>();
  const groups: NotifyGroup[] = [];
  let selected: SelectedEvents | undefined;
  let names = 0;
  for (; i < args.length; i++) {
    const g = args[i];
    if (g.t !== 'list' || g.v.length < 2) throw bad('an event group is "(" filter-mailboxes SP events ")"');
    const filter = word(g.v[0]);
    if (filter === 'SELECTED' || filter === 'SELECTED-DELAYED') {
      if (g.v.length !== 2) throw bad('selected takes one events list');
      if (selected) throw bad('selected named twice');
      selected = parseSelected(g.v[1], filter === 'SELECTED', unsupported);
      continue;
    }
    let f: NotifyFilter;
    let rest: Token;
    if (filter === 'INBOXES' || filter === 'PERSONAL' || filter === 'SUBSCRIBED') {
      if (g.v.length !== 2) throw bad(`${filter.toLowerCase()} takes one events list`);
      f = { kind: filter.toLowerCase() as 'inboxes' };
      rest = g.v[1];
    } else if (filter === 'SUBTREE' || filter === 'MAILBOXES') {
      if (g.v.length !== 3) throw bad(`${filter.toLowerCase()} takes mailboxes and one events list`);
      const list = g.v[1].t === 'list' ? g.v[1].v : [g.v[1]];
      if (list.length === 0) throw bad('one-or-more-mailbox: the list is empty');
      names += list.length;
      if (names > IMAP_LIMITS.maxNotifyNames) throw no(`At most ${IMAP_LIMITS.maxNotifyNames} mailbox names in one NOTIFY`, 'NOTIFICATIONOVERFLOW');
      f = { kind: filter.toLowerCase() as 'subtree', names: list.map((t) => (t.t === 'list' ? badName() : mailboxName(t))) };
      rest = g.v[2];
    } else throw bad('filter-mailboxes is selected, selected-delayed, inboxes, personal, subscribed, subtree or mailboxes');
    // "NONE" for a filter is the default: nothing to register (as Dovecot).
    if (word(rest) === 'NONE') continue;
    const events = eventList(rest, unsupported, false).events;
    groups.push({ filter: f, events });
  }
  if (unsupported.size > 0) throw no('Unsupported NOTIFY events', `BADEVENT (${[...unsupported].join(' ')})`);
  return { kind: 'set', status, groups, ...(selected ? { selected } : {}) };
}

function badName(): never {
  throw bad('a mailbox name expected');
}

function eventList(tok: Token, unsupported: Set<NotifyEvent>, selected: boolean): { events: Set<NotifyEvent>; fetch?: Token } {
  if (tok.t !== 'list' || tok.v.length === 0) throw bad('events are NONE or a parenthesised list of events');
  if (tok.v.length > 2 * NOTIFY_EVENTS.length) throw bad('too many events in one list');
  const events = new Set<NotifyEvent>();
  let fetch: Token | undefined;
  for (let j = 0; j < tok.v.length; j++) {
    const t = tok.v[j];
    const e = t.t === 'atom' ? BY_UPPER.get(t.v.toUpperCase()) : undefined;
    // Other event names are event-ext (RFC 5465 section 8): none is registered, so BADEVENT too.
    if (e === undefined) {
      if (t.t !== 'atom') throw bad('an event name expected');
      if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(t.v)) throw bad('invalid event name');
      throw no(`Unknown NOTIFY event ${t.v}`, `BADEVENT (${NOTIFY_EVENTS.filter((x) => !UNSUPPORTED.has(x)).join(' ')})`);
    }
    if (UNSUPPORTED.has(e)) unsupported.add(e);
    events.add(e);
    if (e === 'MessageNew' && tok.v[j + 1]?.t === 'list') {
      if (!selected) throw bad('MessageNew takes fetch attributes only for the selected mailbox');
      fetch = tok.v[++j];
    }
  }
  return fetch ? { events, fetch } : { events };
}

function parseSelected(tok: Token, immediateExpunge: boolean, unsupported: Set<NotifyEvent>): SelectedEvents | undefined {
  if (word(tok) === 'NONE') return { immediateExpunge, events: new Set() };
  const { events, fetch } = eventList(tok, unsupported, true);
  // Section 5.1/5.2 (and Dovecot): MessageNew and MessageExpunge go together; FlagChange needs them.
  if (events.has('MessageNew') !== events.has('MessageExpunge')) throw bad('MessageNew and MessageExpunge must be named together for the selected mailbox');
  if ((events.has('FlagChange') || events.has('AnnotationChange')) && !events.has('MessageNew')) {
    throw bad('FlagChange for the selected mailbox needs MessageNew and MessageExpunge');
  }
  if (!fetch) return { immediateExpunge, events };
  const plan = parseFetchItems(fetch);
  return { immediateExpunge, events, fetch: { items: plan.items, needsText: plan.needsText } };
}

// ---- mailbox-list events (CREATE, DELETE, RENAME, SUBSCRIBE) between the sessions of one user ----

export type MailboxListChange =
  { kind: 'create' | 'delete'; name: string } | { kind: 'rename'; name: string; oldName: string } | { kind: 'subscribe' | 'unsubscribe'; name: string };

/** The service's sessions that registered NOTIFY, per user; IMAP's mailbox commands publish here. */
export class MailboxListHub {
  private readonly listeners = new Map<string, Set<(c: MailboxListChange) => void>>();

  on(user: string, fn: (c: MailboxListChange) => void): () => void {
    let set = this.listeners.get(user);
    if (!set) this.listeners.set(user, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(user) === set) this.listeners.delete(user);
    };
  }

  publish(user: string, change: MailboxListChange): void {
    const set = this.listeners.get(user);
    if (set) for (const fn of [...set]) fn(change);
  }
}

// ---- one session's registration ----

/** What the registration needs from its session (imap-session.ts). */
export interface NotifyHost {
  readonly store: ImapStore;
  readonly user: string;
  condstore(): boolean;
  /** The selected mailbox's name, if any: its events come through the view, not as STATUS. */
  selectedName(): string | undefined;
  mailboxOut(name: string): string;
  /** Something is waiting: deliver it when the protocol allows. */
  wake(): void;
}

type Dirty = { news: boolean; flags: boolean };

export class NotifyRegistration {
  /** UID below which the selected mailbox's messages had their MessageNew FETCH (or were known). */
  fetchedUpTo = 0;
  fetchView: unknown;
  private readonly watches = new Map<string, () => void>();
  private readonly dirty = new Map<string, Dirty>();
  private readonly listLines: string[] = [];
  private subscribed = new Set<string>();
  private unhub: (() => void) | undefined;
  private closed = false;
  /** Set when the queue overflowed: the session sends NOTIFICATIONOVERFLOW and drops the registration. */
  overflowed = false;
  private refreshing: Promise<void> = Promise.resolve();
  /** After start(): a mailbox watched from now on is new to the client (created, renamed, subscribed). */
  private started = false;
  private refreshQueued = false;

  constructor(
    private readonly host: NotifyHost,
    readonly selected: SelectedEvents | undefined,
    private readonly groups: readonly NotifyGroup[],
    hub: MailboxListHub,
  ) {
    if (groups.length > 0) this.unhub = hub.on(host.user, (c) => this.listChanged(c));
  }

  get pending(): boolean {
    return this.dirty.size > 0 || this.listLines.length > 0 || this.overflowed;
  }

  /** Every event the groups register for `name` (the union over the groups that match it). */
  eventsFor(name: string): Set<NotifyEvent> {
    const out = new Set<NotifyEvent>();
    const delim = this.host.store.delimiter;
    for (const g of this.groups) {
      const f = g.filter;
      let hit: boolean;
      switch (f.kind) {
        case 'personal':
          hit = true;
          break;
        // The mail store delivers into INBOX only: it is the one mailbox "inboxes" can mean here.
        case 'inboxes':
          hit = name === 'INBOX';
          break;
        case 'subscribed':
          hit = this.subscribed.has(name);
          break;
        case 'mailboxes':
          hit = f.names.includes(name);
          break;
        case 'subtree':
          hit = f.names.some((n) => name === n || name.startsWith(n + delim));
          break;
      }
      if (hit) for (const e of g.events) out.add(e);
    }
    return out;
  }

  /** Lists the user's mailboxes and watches the ones a group asks message events of. */
  async start(): Promise<void> {
    await this.refresh();
    this.started = true;
  }

  /** Queues a re-listing; one queued behind the running one serves every change that arrives meanwhile. */
  private refresh(): Promise<void> {
    if (this.refreshQueued) return this.refreshing;
    this.refreshQueued = true;
    this.refreshing = this.refreshing
      .then(() => {
        this.refreshQueued = false;
        return this.doRefresh();
      })
      .catch(() => undefined);
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.closed || this.groups.length === 0) return;
    const { store, user } = this.host;
    if (this.groups.some((g) => g.filter.kind === 'subscribed')) this.subscribed = new Set(await store.subscriptions(user));
    const list = await store.list(user);
    const want = new Set<string>();
    for (const f of list) {
      const ev = this.eventsFor(f.name);
      if (ev.has('MessageNew') || ev.has('MessageExpunge') || ev.has('FlagChange')) want.add(f.name);
    }
    if (want.size > IMAP_LIMITS.maxNotifyMailboxes) {
      this.overflow();
      return;
    }
    for (const [name, unwatch] of this.watches) {
      if (want.has(name)) continue;
      unwatch();
      this.watches.delete(name);
    }
    for (const name of want) {
      if (this.watches.has(name) || this.closed) continue;
      let folder;
      try {
        folder = await store.folder(user, name);
      } catch {
        continue; // deleted meanwhile
      }
      if (this.closed || this.watches.has(name)) continue;
      this.watches.set(
        name,
        folder.watch((c) => this.folderChanged(name, c)),
      );
      // Changes made between the LIST event and this watch would be lost: the client gets the new
      // mailbox's STATUS instead, taken when it is sent.
      if (this.started && this.eventsFor(name).has('MessageNew')) {
        this.dirty.set(name, { news: true, flags: false });
        this.host.wake();
      }
    }
  }

  /** The names a NOTIFY SET STATUS reports at once (section 3.1): the watched mailboxes. */
  async initialStatus(): Promise<string[]> {
    await this.refreshing;
    const sel = this.host.selectedName();
    const out: string[] = [];
    for (const name of [...this.watches.keys()].sort()) {
      if (name === sel) continue;
      const ev = this.eventsFor(name);
      // As Dovecot: MESSAGES UIDNEXT UIDVALIDITY UNSEEN, and HIGHESTMODSEQ when flag changes are watched.
      const items = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'];
      if (ev.has('FlagChange')) items.push('HIGHESTMODSEQ');
      const line = await this.statusLine(name, items);
      if (line) out.push(line);
    }
    return out;
  }

  private folderChanged(name: string, c: FolderChangeEvent): void {
    if (this.closed) return;
    if (c.kind === 'gone') {
      this.watches.get(name)?.();
      this.watches.delete(name);
      this.dirty.delete(name);
      return;
    }
    const ev = this.eventsFor(name);
    const d = this.dirty.get(name) ?? { news: false, flags: false };
    if (c.kind === 'exists' && c.messages.length > 0 && ev.has('MessageNew')) d.news = true;
    else if (c.kind === 'expunge' && ev.has('MessageExpunge')) d.news = true;
    else if (c.kind === 'flags' && c.messages.length > 0 && ev.has('FlagChange')) d.flags = true;
    else return;
    // At most one entry per watched mailbox: the queue is bounded by maxNotifyMailboxes.
    this.dirty.set(name, d);
    this.host.wake();
  }

  private listChanged(c: MailboxListChange): void {
    if (this.closed) return;
    const delim = this.host.store.delimiter;
    const names = c.kind === 'rename' ? [c.name, c.oldName] : [c.name];
    const wanted = (e: NotifyEvent): boolean => names.some((n) => this.eventsFor(n).has(e));
    if (c.kind === 'subscribe') this.subscribed.add(c.name);
    if (c.kind === 'unsubscribe') this.subscribed.delete(c.name);
    const q = str(delim);
    let line: string | undefined;
    if ((c.kind === 'create' || c.kind === 'delete' || c.kind === 'rename') && wanted('MailboxName')) {
      // Section 5.4: a LIST response; a deleted mailbox is \NonExistent, a renamed one has OLDNAME (RFC 5258).
      if (c.kind === 'create') line = `* LIST () ${q} ${this.host.mailboxOut(c.name)}`;
      else if (c.kind === 'delete') line = `* LIST (\\NonExistent) ${q} ${this.host.mailboxOut(c.name)}`;
      else if (c.kind === 'rename') line = `* LIST () ${q} ${this.host.mailboxOut(c.name)} ("OLDNAME" (${this.host.mailboxOut(c.oldName)}))`;
    }
    if ((c.kind === 'subscribe' || c.kind === 'unsubscribe') && wanted('SubscriptionChange')) {
      // Section 5.5: the LIST response with (or without) \Subscribed.
      line = `* LIST (${c.kind === 'subscribe' ? '\\Subscribed' : ''}) ${q} ${this.host.mailboxOut(c.name)}`;
    }
    if (line !== undefined) {
      if (this.listLines.length >= IMAP_LIMITS.maxNotifyQueued) this.overflow();
      else this.listLines.push(line);
    }
    // A new or renamed mailbox (or a new subscription) may now fall under a group: watch it.
    const subscriptions = c.kind === 'subscribe' || c.kind === 'unsubscribe';
    if (c.kind !== 'delete' && (!subscriptions || this.groups.some((g) => g.filter.kind === 'subscribed'))) void this.refresh();
    this.host.wake();
  }

  private overflow(): void {
    this.overflowed = true;
    this.listLines.length = 0;
    this.dirty.clear();
    this.host.wake();
  }

  private async statusLine(name: string, items: string[]): Promise<string | undefined> {
    try {
      const st = await this.host.store.status(this.host.user, name);
      const v: Record<string, number> = {
        MESSAGES: st.messages,
        UIDNEXT: st.uidNext,
        UIDVALIDITY: st.uidValidity,
        UNSEEN: st.unseen,
        HIGHESTMODSEQ: st.highestModseq,
      };
      return statusResponse(this.host.mailboxOut(name), items, v);
    } catch {
      return undefined; // gone meanwhile: its LIST (if asked for) says so
    }
  }

  /**
   * The untagged responses waiting (section 5): LIST lines in order, then one STATUS per changed
   * mailbox, with what Dovecot sends: MESSAGES UIDNEXT UNSEEN after new or expunged messages, UNSEEN
   * after flag changes, HIGHESTMODSEQ for a CONDSTORE-aware client. None for the selected mailbox.
   */
  async take(): Promise<string[]> {
    const out = this.listLines.splice(0);
    const sel = this.host.selectedName();
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const [name, d] of dirty) {
      if (name === sel) continue;
      const items = d.news ? ['MESSAGES', 'UIDNEXT', 'UNSEEN'] : ['UNSEEN'];
      if (this.host.condstore()) items.push('HIGHESTMODSEQ');
      const line = await this.statusLine(name, items);
      if (line) out.push(line);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unhub?.();
    for (const unwatch of this.watches.values()) unwatch();
    this.watches.clear();
    this.dirty.clear();
    this.listLines.length = 0;
  }
}
