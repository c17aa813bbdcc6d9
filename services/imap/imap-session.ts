// One IMAP connection on the line-session base: the state machine of RFC 3501 section 3 (not
// authenticated, authenticated, selected, logout), IMAP's command reader (literals) and grammar, the
// tagged completion of each command, and the reporting of other sessions' changes at the moments the
// protocol allows. The loop, the one write per command (or pipelined batch), continuation reads and
// STARTTLS are the base's.
import { redactUnknown, shownWord } from '../../core/redact.js';
import type { Accounts } from '../../core/auth.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { LineSession, type CommandTable, type Interceptor, type ParsedCommand, type TlsPolicy } from '../../core/line-session/index.js';
import { parseCommand, ParseError, type Token } from './command-parser.js';
import { readCommand, type CommandInput } from './command-reader.js';
import type { ImapCommand, ImapState } from './command-spec.js';
import { ImapError } from './imap-errors.js';
import { IMAP_LIMITS } from './limits.js';
import { encodeMutf7 } from './mutf7.js';
import { astr, binary, str } from './imap-writer.js';
import { SelectedMailbox } from './selected-mailbox.js';
import type { SearchContexts } from './search-context.js';
import { MailboxListHub, NotifyRegistration, type MailboxListChange } from './notify.js';
import { writeFetchResponses } from './fetch-response.js';
import type { FetchItem } from './fetch-items.js';
import type { ImapStore, StoredMessage } from './store-port.js';
import { TranscriptPayloads, type ReadLiteral } from './transcript-payload.js';

export interface ImapSessionConfig {
  appendLimit: number;
  maxSessionsPerUser: number;
  /** Per user and client address (0: four fifths of maxSessionsPerUser). */
  maxSessionsPerUserAndAddress?: number;
  autologoutMs: number;
  preAuthTimeoutMs: number;
}

/** What the service shares with all its sessions. */
export interface ImapShared {
  store: ImapStore;
  accounts: Accounts;
  events: EventBus;
  hostname: string;
  config: ImapSessionConfig;
  commands: CommandTable<ImapState, ImapCommand>;
  /** Open authenticated sessions per user (the sessions-per-user limit). */
  sessionsPerUser: Map<string, number>;
  /** Open authenticated sessions per user and client address ("user\0address"), made on first use. */
  sessionsPerUserAddress?: Map<string, number>;
  /** STARTTLS offered or not, LOGINDISABLED before TLS (tls.requireTlsForAuth). */
  tls: TlsPolicy;
  /** Fault injection (tests); see core/line-session/interceptor.ts. */
  interceptor?: Interceptor;
  /** NOTIFY (RFC 5465): mailbox-list changes between the sessions of a user, made on first use. */
  mailboxList?: MailboxListHub;
}

/** One parsed command; the line for events is cut from the octets only when somebody looks. */
class ImapParsed implements ParsedCommand {
  constructor(
    readonly tag: string,
    readonly name: string,
    readonly args: Token[],
    private readonly raw: Buffer,
  ) {}

  get argCount(): number {
    return this.args.length;
  }

  get line(): string {
    return this.raw.toString('latin1', 0, Math.min(this.raw.length, 300)).split('\r\n')[0];
  }
}

export class ImapSession extends LineSession<ImapState, ImapCommand, ImapParsed> {
  state: ImapState = 'not-authenticated';
  user: string | undefined;
  /** The "user\u0000address" key this session counts under (sessions per user and address). */
  private addressKey: string | undefined;
  selected: SelectedMailbox | undefined;
  /** Runs after the tagged reply of the current command is sent (STARTTLS starts its handshake). */
  afterReply: (() => Promise<void>) | undefined;
  /** Extensions turned on with ENABLE. */
  readonly enabled = new Set<string>();
  /** Live SEARCH/SORT results (RFC 5267 RETURN (UPDATE)), made on first use (search-context.ts). */
  searchContexts: SearchContexts | undefined;
  /** The session is in IDLE: changes are pushed as they happen. */
  idling = false;
  /** NOTIFY SET (RFC 5465, notify.ts): the registered events; undefined after NOTIFY NONE. */
  notify: NotifyRegistration | undefined;
  /** Waiting for the first line of a command (NOTIFY pushes only then, or in IDLE). */
  private awaitingCommand = false;
  private pushQueued = false;
  /** Pushes wait for the client to read what is already written (one waiter). */
  private drainWaiting = false;
  /** A NOTIFY push under way: the next command waits for it (its lines are never split by a command's). */
  private pushing: Promise<void> | undefined;
  /** How the command reader reads (made once per session, not once per command). */
  private readonly input: CommandInput;
  /** Message data shown in this session's events (FETCH and APPEND literals; see transcript-payload.ts). */
  private readonly payloads = new TranscriptPayloads();
  /** The literals of the command just read, until its command event is published (APPEND's payload). */
  private readLiterals: ReadLiteral[] | undefined;

  constructor(
    conn: Connection,
    readonly shared: ImapShared,
  ) {
    super(
      conn,
      shared.events,
      {
        maxBadCommands: IMAP_LIMITS.maxBadCommands,
        maxCommandLine: IMAP_LIMITS.maxLineLength,
        tls: shared.tls,
        interceptor: shared.interceptor,
        encoding: 'latin1',
      },
      shared.commands,
    );
    this.input = {
      literalLimit: (first) => this.literalLimit(first),
      continuation: () => this.send('+ Ready for literal data'),
      firstLine: () => (this.notify ? this.readFirstLineNotifying() : this.readCommandLine()),
      nextLine: (max) => this.expectNext(max),
      octets: (n) => this.expectOctets(n),
      chunk: (max) => this.expectChunk(max),
    };
  }

  get store(): ImapStore {
    return this.shared.store;
  }

  capabilities(): string {
    // RFC 9051 appendix A: both revisions; rev2's forms after ENABLE IMAP4rev2.
    const caps = ['IMAP4rev1', 'IMAP4rev2'];
    if (this.startTlsOffered) caps.push('STARTTLS');
    // RFC 3501 section 6.2.3 / RFC 2595 section 3.2: no AUTH= mechanisms while LOGINDISABLED.
    if (!this.authAllowed) caps.push('LOGINDISABLED');
    else caps.push('AUTH=PLAIN');
    caps.push(
      'LITERAL+',
      'SASL-IR',
      'IDLE',
      'NAMESPACE',
      'UIDPLUS',
      'MOVE',
      'SPECIAL-USE',
      'CHILDREN',
      'UNSELECT',
      'ENABLE',
      'ID',
      'LIST-STATUS',
      'QUOTA',
      'QUOTA=RES-STORAGE',
      'QUOTA=RES-MESSAGE',
      `APPENDLIMIT=${this.shared.config.appendLimit}`,
    );
    // Search extensions (RFC 4731, 5256, 5267, 5957).
    caps.push('ESEARCH');
    caps.push('SORT');
    caps.push('ESORT');
    // RFC 5267: PARTIAL, UPDATE/CANCELUPDATE for SEARCH and SORT (search-context.ts).
    caps.push('CONTEXT=SEARCH', 'CONTEXT=SORT');
    caps.push('SORT=DISPLAY');
    caps.push('THREAD=ORDEREDSUBJECT');
    caps.push('THREAD=REFERENCES');
    // STATUS (SIZE) (RFC 8438), already answered by status.ts.
    caps.push('STATUS=SIZE');
    caps.push('MULTIAPPEND');
    caps.push('LIST-EXTENDED');
    caps.push('BINARY');
    caps.push('CATENATE');
    caps.push('SEARCHRES');
    // RFC 7162 (condstore.ts): mod-sequences, and quick resynchronisation after ENABLE QRESYNC.
    caps.push('CONDSTORE', 'QRESYNC');
    // RFC 6855: UTF-8 quoted strings and mailbox names after ENABLE UTF8=ACCEPT (utf8.ts).
    caps.push('UTF8=ACCEPT');
    // RFC 5465 (notify.ts): events of other mailboxes and of the selected one, pushed between commands.
    caps.push('NOTIFY');
    return caps.join(' ');
  }

  protected greet(): void {
    this.conn.setIdleTimeout(this.shared.config.preAuthTimeoutMs);
    this.send(`* OK [CAPABILITY ${this.capabilities()}] ${this.shared.hostname} labnet IMAP4rev1 ready`);
  }

  protected override async readCommand(): Promise<Buffer | null | undefined> {
    const r = await readCommand(this.input);
    if (r.kind === 'eof') return null;
    if (r.kind === 'command') {
      // Kept only for the command event, which is published before the command runs.
      this.readLiterals = r.read !== undefined && this.payloads.open && this.events.listens('command') ? r.read : undefined;
      return r.raw;
    }
    this.commandEvent(`${r.tag ?? '*'} (refused: ${r.response})`);
    this.send(`${r.tag ?? '*'} ${r.response}`);
    if (r.fatal || (r.response.startsWith('BAD') && this.countBad())) {
      this.send('* BYE Too many errors');
      this.ending = true;
    }
    return undefined;
  }

  private literalLimit(firstLine: string): number {
    if (this.state === 'not-authenticated') return IMAP_LIMITS.maxLiteralBeforeAuth;
    if (/^\S+ APPEND /i.test(firstLine)) return this.shared.config.appendLimit;
    return IMAP_LIMITS.maxLiteralOther;
  }

  protected parse(raw: Buffer): ImapParsed | undefined {
    try {
      const cmd = parseCommand(raw);
      return new ImapParsed(cmd.tag, cmd.name, cmd.args, raw);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.commandEvent(redactUnknown(raw.toString('latin1', 0, Math.min(raw.length, 120)), true));
      this.send(`${err.tag ?? '*'} BAD ${err.message}`);
      if (this.countBad()) {
        this.send('* BYE Too many errors');
        this.ending = true;
      }
      return undefined;
    }
  }

  /** The unknown command's first line as received (an IMAP event shows the tag and the name). */
  protected override unknownCommandText(cmd: ImapParsed): string {
    return redactUnknown(cmd.line, true);
  }

  protected onUnknown(cmd: ImapParsed): void {
    // The name as typed (one or two words), unless it may be a secret sent out of turn (core/redact.ts).
    const typed = cmd.line
      .trim()
      .split(' ', 3)
      .slice(1, 1 + cmd.name.split(' ').length);
    this.badReply(cmd.tag, `Unknown command ${typed.map((w) => shownWord(w)).join(' ')}`);
  }

  protected onWrongState(cmd: ImapParsed): void {
    const why = this.state === 'not-authenticated' ? 'log in first' : this.state === 'authenticated' ? 'select a mailbox first' : 'not allowed now';
    this.badReply(cmd.tag, `${cmd.name} not allowed in this state: ${why}`);
  }

  protected onBadArgs(cmd: ImapParsed): void {
    this.badReply(cmd.tag, `${cmd.name}: wrong number of arguments`);
  }

  /** LOGINDISABLED (tls.requireTlsForAuth before STARTTLS): RFC 5530 PRIVACYREQUIRED. */
  protected onTlsRequired(cmd: ImapParsed): void {
    this.send(`${cmd.tag} NO [PRIVACYREQUIRED] Authentication needs TLS first: use STARTTLS or the IMAPS port`);
  }

  protected onLineTooLong(): void {
    // The command reader answers over-long lines itself (BAD [TOOBIG]).
  }

  protected onShutdown(): void {
    this.send('* BYE Server shutting down');
  }

  /** The command event, with an APPEND's message data as its payload. */
  override commandEvent(text: string, name?: string, payload?: () => string, payloadBytes?: number): void {
    const literals = this.readLiterals;
    this.readLiterals = undefined;
    const shown = literals !== undefined && payload === undefined && name === 'APPEND' ? this.payloads.appended(literals) : undefined;
    if (shown === undefined) return super.commandEvent(text, name, payload, payloadBytes);
    super.commandEvent(text, name, () => shown.text, shown.bytes);
    this.payloadsSpent();
  }

  /** FETCH output: the literals it carries are excerpted into the reply event's payload. */
  override sendBuffers(parts: readonly Buffer[], octets: number, summary: string): void {
    if (!this.payloads.open) return super.sendBuffers(parts, octets, summary);
    super.sendBuffers(parts, octets, summary, () => this.payloads.fetched(parts));
    this.payloadsSpent();
  }

  /** Says once, after the event that spent it, that the session's budget for message data in events is spent. */
  private payloadsSpent(): void {
    if (this.payloads.open || this.payloads.spent) return;
    this.payloads.spent = true;
    this.notice('info', 'Message data is no longer excerpted in this transcript: this session has shown enough of it (the lines still give the sizes).');
  }

  protected async execute(cmd: ImapParsed, spec: ImapCommand): Promise<void> {
    this.readLiterals = undefined;
    if (this.pushing) await this.pushing;
    try {
      const text = await spec.handler(this, { tag: cmd.tag, name: cmd.name, args: cmd.args });
      // LOGOUT answers itself (before closing).
      if (this.state === 'logout' || text === '') return;
      this.reportChanges(spec.expungeAfter);
      if (this.notify) await this.notifyUpdates();
      this.send(`${cmd.tag} ${text}`);
      const after = this.afterReply;
      if (after) {
        this.afterReply = undefined;
        await after();
      }
    } catch (err) {
      if (err instanceof ImapError) {
        if (this.selected) this.reportChanges(spec.expungeAfter);
        const code = err.responseCode ? `[${err.responseCode}] ` : '';
        if (err.kind === 'BAD') return this.badReply(cmd.tag, `${code}${err.message}`);
        this.send(`${cmd.tag} NO ${code}${err.message}`);
        return;
      }
      if (this.conn.closed) return;
      this.send(`${cmd.tag} NO [SERVERBUG] ${cmd.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private badReply(tag: string, text: string): void {
    this.send(`${tag} BAD ${text}`);
    if (this.countBad()) {
      this.send('* BYE Too many protocol errors');
      this.logout();
      this.flush();
      this.conn.close('too many bad commands');
    }
  }

  /** The client sent a CONDSTORE enabling command (RFC 7162 section 3.1): FETCH responses carry MODSEQ. */
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE');
  }

  /** ENABLE QRESYNC was answered (RFC 7162 section 3.2.3): VANISHED instead of EXPUNGE. */
  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  /** ENABLE IMAP4rev2 was answered (RFC 9051 appendix A): the session gets rev2's response forms. */
  get rev2(): boolean {
    return this.enabled.has('IMAP4rev2');
  }

  /**
   * UTF-8 in quoted strings and mailbox names (RFC 6855 section 3 after ENABLE UTF8=ACCEPT; RFC 9051
   * section 5.1 after ENABLE IMAP4rev2): names go out as UTF-8, not modified UTF-7.
   */
  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT') || this.enabled.has('IMAP4rev2');
  }

  /**
   * A mailbox name as this session's client reads it (an astring on the wire): UTF-8 once enabled, as
   * a quoted string where it fits (RFC 6855 section 3 uQUOTED-CHAR), modified UTF-7 before.
   */
  mailboxOut(name: string): string {
    if (!this.utf8) return astr(encodeMutf7(name));
    if (!/[^\x00-\x7f]/.test(name)) return astr(name);
    const octets = binary(name);
    return octets.length < 1024 && !/["\\]/.test(octets) ? `"${octets}"` : str(octets);
  }

  /**
   * A CONDSTORE enabling command (RFC 7162 section 3.1). The first one while a mailbox is selected
   * reports the mailbox's HIGHESTMODSEQ (as the session knows it). Returns whether it was the first.
   */
  condstoreOn(): boolean {
    if (this.enabled.has('CONDSTORE')) return false;
    this.enabled.add('CONDSTORE');
    if (this.selected) this.send(`* OK [HIGHESTMODSEQ ${this.selected.highestModseq}] Highest mailbox mod-sequence`);
    return true;
  }

  /**
   * The items of an untagged FETCH that reports a flag change: FLAGS, and for a CONDSTORE-aware
   * client also UID and MODSEQ (RFC 7162 sections 3.1 and 3.2.4). `uid`: UID is in it anyway.
   */
  changeItems(m: StoredMessage, uid = false): string {
    // RFC 9051 appendix E item 21: in IMAP4rev2 every unsolicited FETCH carries UID.
    if (!this.condstore) return uid || this.rev2 ? `${this.flagsItem(m)} UID ${m.uid}` : this.flagsItem(m);
    return `UID ${m.uid} ${this.flagsItem(m)} MODSEQ (${m.modseq})`;
  }

  /** FLAGS data item for a message (with \Recent when this session holds it). */
  flagsItem(m: StoredMessage): string {
    // RFC 9051 appendix E item 12: \Recent is deprecated; an IMAP4rev2 session is not shown it.
    const recent = !this.rev2 && (this.selected?.recent.has(m.uid) ?? false);
    if (!recent) return `FLAGS (${m.flags.join(' ')})`;
    return m.flags.length > 0 ? `FLAGS (${m.flags.join(' ')} \\Recent)` : 'FLAGS (\\Recent)';
  }

  /** Sends what other sessions changed in the selected mailbox (section 7.4.1 rules via the view). */
  reportChanges(allowExpunge: boolean): void {
    const view = this.selected;
    // CONTEXT=SEARCH/SORT (search-context.ts): removals before the other responses, additions after.
    const contexts = view && this.searchContexts?.has(view) ? this.searchContexts : undefined;
    if (!view || !view.hasPending) {
      if (view && contexts) this.sendContextUpdates(contexts.updates(view), []);
      return;
    }
    // RFC 9051 appendix E item 12: no RECENT responses once IMAP4rev2 is enabled.
    const lines = view.flush(allowExpunge, (m) => this.changeItems(m), this.qresync, !this.rev2);
    if (contexts) this.sendContextUpdates(contexts.updates(view), lines);
    else if (lines.length > 0) this.sendLines(lines);
    if (view.gone) {
      // The folder was deleted or renamed by someone else: nothing can be done in it any more.
      this.sendLines(['* BYE The selected mailbox was deleted or renamed']);
      this.logout();
      this.flush();
      this.conn.close('selected mailbox vanished');
    }
  }

  /** REMOVEFROM for live searches, before this session reports its own EXPUNGE/MOVE of `uids`. */
  contextExpunging(uids: readonly number[]): void {
    const view = this.selected;
    if (!view || !this.searchContexts?.has(view)) return;
    const lines = this.searchContexts.expunging(view, uids);
    if (lines.length > 0) this.sendLines(lines);
  }

  private sendContextUpdates(u: { removals: string[]; additions: string[] }, lines: string[]): void {
    const all = [...u.removals, ...lines, ...u.additions];
    if (all.length > 0) this.sendLines(all);
  }

  // ---- NOTIFY (RFC 5465) ----

  /** Registers NOTIFY SET's events (replacing any before) or, with undefined, NOTIFY NONE. */
  setNotify(reg: NotifyRegistration | undefined): void {
    this.notify?.close();
    this.notify = reg;
    if (reg && this.selected) {
      // Messages the client already knows get no MessageNew FETCH.
      reg.fetchView = this.selected;
      reg.fetchedUpTo = this.selected.uids[this.selected.uids.length - 1] ?? 0;
    }
  }

  /** What a registration needs of this session. */
  notifyHost(): ConstructorParameters<typeof NotifyRegistration>[0] {
    return {
      store: this.store,
      user: this.requireUser(),
      condstore: () => this.condstore,
      selectedName: () => this.selected?.folder.name,
      mailboxOut: (name) => this.mailboxOut(name),
      wake: () => this.notifyWake(),
    };
  }

  get mailboxListHub(): MailboxListHub {
    return (this.shared.mailboxList ??= new MailboxListHub());
  }

  /** A mailbox command succeeded: sessions of this user with NOTIFY hear of it (their LIST responses). */
  mailboxListChanged(change: MailboxListChange): void {
    if (this.user !== undefined) this.shared.mailboxList?.publish(this.user, change);
  }

  /**
   * The first line of the next command while NOTIFY is on: the session counts as between commands,
   * where section 5 lets the server send notifications at any time (the selected mailbox's too, when
   * `selected` is registered: RFC 3501 section 7.4.1 allows EXPUNGE when no command is in progress).
   */
  private async readFirstLineNotifying(): Promise<Buffer | null> {
    this.awaitingCommand = true;
    const view = this.selected;
    const watching = view !== undefined && this.notify?.selected !== undefined && this.notify.selected.events.size > 0;
    if (watching) view.onChange = () => this.notifyWake();
    if (this.notify?.pending || (watching && view.hasPending)) this.notifyWake();
    try {
      return await this.readCommandLine();
    } finally {
      this.awaitingCommand = false;
      if (watching && view.onChange !== undefined && !this.idling) view.onChange = undefined;
    }
  }

  /** Something waits for the client: push it on the next turn if the session is between commands or in IDLE. */
  notifyWake(): void {
    if (this.pushQueued) return;
    this.pushQueued = true;
    setImmediate(() => {
      this.pushQueued = false;
      if (this.pushing || this.conn.closed || !this.notify || !(this.awaitingCommand || this.idling)) return;
      // A client that does not read gets nothing more until it does (the queue stays bounded).
      if (this.conn.socket.writableLength > IMAP_LIMITS.maxNotifyBacklog) {
        if (this.drainWaiting) return;
        this.drainWaiting = true;
        void this.conn.drain().then(() => {
          this.drainWaiting = false;
          this.notifyWake();
        });
        return;
      }
      this.pushing = this.pushNotifications()
        // Never an unhandled rejection (the next command awaits this promise): say so and go on.
        .catch((err: unknown) => this.notice('warn', `NOTIFY could not send a notification: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          this.pushing = undefined;
          if (this.notify?.pending && (this.awaitingCommand || this.idling)) this.notifyWake();
        });
    });
  }

  private async pushNotifications(): Promise<void> {
    const n = this.notify;
    if (!n) return;
    if (this.selected && (this.idling || (n.selected !== undefined && n.selected.events.size > 0))) {
      // selected-delayed: expunges wait for a command that may report them (section 6).
      this.reportChanges(this.idling || n.selected!.immediateExpunge);
    }
    await this.notifyUpdates();
    this.flush();
  }

  /**
   * Sends what NOTIFY has waiting: the MessageNew FETCH of messages just announced in the selected
   * mailbox (section 5.2), then the LIST and STATUS responses for other mailboxes. On overflow:
   * `* OK [NOTIFICATIONOVERFLOW]` and the registration is dropped, as after NOTIFY NONE (section 5.8).
   */
  async notifyUpdates(): Promise<void> {
    const n = this.notify;
    if (!n) return;
    const view = this.selected;
    const fetch = n.selected?.fetch;
    if (view && fetch) {
      if (n.fetchView !== view) {
        // A new selection: what SELECT reported is known.
        n.fetchView = view;
        n.fetchedUpTo = view.uidNextAtSelect - 1;
      }
      const last = view.uids[view.uids.length - 1] ?? 0;
      if (last > n.fetchedUpTo) {
        let from = view.uids.length;
        while (from > 0 && view.uids[from - 1] > n.fetchedUpTo) from--;
        const count = view.uids.length - from;
        n.fetchedUpTo = last;
        if (count > IMAP_LIMITS.maxNotifyFetch) n.overflowed = true;
        else {
          const indexes = Array.from({ length: count }, (_, k) => from + k);
          await writeFetchResponses(this, view, indexes, this.notifyFetchItems(fetch.items), fetch.needsText);
        }
      }
    }
    if (n.overflowed) {
      this.setNotify(undefined);
      this.send('* OK [NOTIFICATIONOVERFLOW] Too many notifications waiting: NOTIFY is off now, use NOTIFY SET again');
      return;
    }
    if (!n.pending) return;
    const lines = await n.take();
    if (this.notify === n && lines.length > 0) this.sendLines(lines);
  }

  /** MessageNew's items, with the UID (and MODSEQ) an unsolicited FETCH carries for rev2 and CONDSTORE clients. */
  private notifyFetchItems(items: readonly FetchItem[]): FetchItem[] {
    const out = [...items];
    if ((this.rev2 || this.condstore) && !out.some((i) => i.k === 'UID')) out.unshift({ k: 'UID' });
    if (this.condstore && !out.some((i) => i.k === 'MODSEQ')) out.push({ k: 'MODSEQ' });
    return out;
  }

  /** Logs the user in: checks the sessions-per-user limit and prepares the mailbox. */
  async authenticated(user: string): Promise<void> {
    const n = this.shared.sessionsPerUser.get(user) ?? 0;
    const max = this.shared.config.maxSessionsPerUser;
    if (n >= max) {
      throw new ImapError('LIMIT', 'NO', `Too many sessions for ${user} (at most ${max})`, 'LIMIT');
    }
    // One address may not take every slot of a shared account (Dovecot: mail_max_userip_connections).
    const perAddress = (this.shared.sessionsPerUserAddress ??= new Map<string, number>());
    const key = `${user}\u0000${this.conn.peer.address}`;
    const mine = perAddress.get(key) ?? 0;
    const maxMine = this.shared.config.maxSessionsPerUserAndAddress || Math.max(1, max - Math.ceil(max / 5));
    if (mine >= maxMine) {
      throw new ImapError(
        'LIMIT',
        'NO',
        `Too many sessions for ${user} from your address (at most ${maxMine} of ${max}; the rest stay open to others)`,
        'LIMIT',
      );
    }
    await this.store.ensureUser(user);
    this.shared.sessionsPerUser.set(user, n + 1);
    perAddress.set(key, mine + 1);
    this.addressKey = key;
    this.user = user;
    this.state = 'authenticated';
    this.conn.setIdleTimeout(this.shared.config.autologoutMs);
  }

  select(view: SelectedMailbox | undefined): void {
    this.selected?.close();
    this.selected = view;
    this.state = view ? 'selected' : this.user ? 'authenticated' : 'not-authenticated';
  }

  requireUser(): string {
    if (!this.user) throw new ImapError('NO', 'NO', 'not authenticated');
    return this.user;
  }

  logout(): void {
    this.state = 'logout';
    this.ending = true;
  }

  protected override onEnd(): void {
    this.notify?.close();
    this.notify = undefined;
    this.selected?.close();
    this.selected = undefined;
    if (this.user) {
      const n = (this.shared.sessionsPerUser.get(this.user) ?? 1) - 1;
      if (n <= 0) this.shared.sessionsPerUser.delete(this.user);
      else this.shared.sessionsPerUser.set(this.user, n);
    }
    if (this.addressKey !== undefined) {
      const perAddress = this.shared.sessionsPerUserAddress!;
      const m = (perAddress.get(this.addressKey) ?? 1) - 1;
      if (m <= 0) perAddress.delete(this.addressKey);
      else perAddress.set(this.addressKey, m);
      this.addressKey = undefined;
    }
  }
}
