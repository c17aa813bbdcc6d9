// One IMAP connection: the state machine of RFC 3501 section 3 (not authenticated, authenticated,
// selected, logout), the read-parse-dispatch loop, the one reply path, and the reporting of other
// sessions' changes at the moments the protocol allows.
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import type { Accounts } from '../../core/auth.js';
import { LineSession } from '../../core/line-session.js';
import { parseCommand, ParseError, type ParsedCommand } from './command-parser.js';
import { readCommand } from './command-reader.js';
import type { ImapCommand, ImapState } from './command-spec.js';
import { ImapError } from './imap-errors.js';
import { IMAP_LIMITS } from './limits.js';
import { SelectedMailbox } from './selected-mailbox.js';
import type { ImapStore, StoredMessage } from './store-port.js';

export interface ImapSessionConfig {
  appendLimit: number;
  maxSessionsPerUser: number;
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
  registry: ReadonlyMap<string, ImapCommand>;
  /** Open authenticated sessions per user (the sessions-per-user limit). */
  sessionsPerUser: Map<string, number>;
  /**
   * STARTTLS hook (the TLS issue wires it): when set, CAPABILITY lists STARTTLS and the command
   * calls it after the tagged OK.
   */
  starttls?: (session: ImapSession) => Promise<void>;
  /** Extra capability words decided by the TLS setup (e.g. LOGINDISABLED). */
  extraCapabilities?: (session: ImapSession) => string[];
  /** False while authentication is refused (tls.requireTlsForAuth before TLS): LOGINDISABLED. */
  authAllowed?: (session: ImapSession) => boolean;
}

export class ImapSession extends LineSession {
  state: ImapState = 'not-authenticated';
  user: string | undefined;
  selected: SelectedMailbox | undefined;
  /** Runs after the tagged reply of the current command is sent (STARTTLS starts its handshake). */
  afterReply: (() => Promise<void>) | undefined;
  /** Extensions turned on with ENABLE. */
  readonly enabled = new Set<string>();
  /** The session is in IDLE: changes are pushed as they happen. */
  idling = false;

  constructor(
    conn: Connection,
    readonly shared: ImapShared,
  ) {
    super(conn, shared.events, { maxBadCommands: IMAP_LIMITS.maxBadCommands });
  }

  get store(): ImapStore {
    return this.shared.store;
  }

  // The reply path of LineSession, building events only when a subscriber takes them (the logger
  // always listens for notices, so `events.active` alone is not enough on this hot path).
  override send(line: string): void {
    this.out(`${line}\r\n`);
    if (this.shared.events.wants('reply')) this.shared.events.publish({ type: 'reply', service: this.service, session: this.id, text: line });
  }

  override sendLines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = lines.join('\r\n');
    this.out(`${text}\r\n`);
    if (this.shared.events.wants('reply')) this.shared.events.publish({ type: 'reply', service: this.service, session: this.id, text });
  }

  override sendData(data: Buffer | string, summary: string): void {
    this.out(data);
    if (this.shared.events.wants('reply')) {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      this.shared.events.publish({ type: 'reply', service: this.service, session: this.id, text: summary, bytes });
    }
  }

  /**
   * Like sendData for an answer in pieces: held pieces are joined once, in `uncork`, instead of
   * being joined here and copied again there.
   */
  sendBuffers(parts: readonly Buffer[], octets: number, summary: string): void {
    if (this.held) {
      for (const p of parts) this.held.push(p);
      this.heldOctets += octets;
    } else this.conn.write(parts.length === 1 ? parts[0] : Buffer.concat(parts, octets));
    if (this.shared.events.wants('reply')) this.shared.events.publish({ type: 'reply', service: this.service, session: this.id, text: summary, bytes: octets });
  }

  /** Output of the command being answered, written as one buffer when it completes. */
  private held: Array<Buffer | string> | undefined;
  private heldOctets = 0;

  private out(data: Buffer | string): void {
    if (this.held) {
      this.held.push(data);
      this.heldOctets += data.length;
    } else this.conn.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  override commandEvent(text: string, name?: string): void {
    if (this.shared.events.wants('command'))
      this.shared.events.publish({ type: 'command', service: this.service, session: this.id, text, ...(name ? { name } : {}) });
  }

  capabilities(): string {
    const caps = ['IMAP4rev1'];
    if (this.shared.starttls && !this.conn.isTls) caps.push('STARTTLS');
    caps.push(...(this.shared.extraCapabilities?.(this) ?? []));
    // RFC 3501 section 6.2.3 / RFC 2595 section 3.2: no AUTH= mechanisms while LOGINDISABLED.
    if (this.shared.authAllowed?.(this) === false) caps.push('LOGINDISABLED');
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
      `APPENDLIMIT=${this.shared.config.appendLimit}`,
    );
    return caps.join(' ');
  }

  async run(): Promise<void> {
    this.conn.setIdleTimeout(this.shared.config.preAuthTimeoutMs);
    this.send(`* OK [CAPABILITY ${this.capabilities()}] ${this.shared.hostname} labnet IMAP4rev1 ready`);
    try {
      // Made once per session, not once per command.
      const hooks = {
        literalLimit: (first: string) => this.literalLimit(first),
        continuation: () => this.send('+ Ready for literal data'),
        readFirstLine: (max: number) => this.conn.readCommandLine(max),
      };
      while (this.state !== 'logout' && !this.conn.closed) {
        const r = await readCommand(this.conn.framer, hooks);
        if (r.kind === 'eof') break;
        if (r.kind === 'refused') {
          this.commandEvent(`${r.tag ?? '*'} (refused: ${r.response})`);
          this.send(`${r.tag ?? '*'} ${r.response}`);
          if (r.fatal || (r.response.startsWith('BAD') && this.countBad())) {
            this.send('* BYE Too many errors');
            break;
          }
          continue;
        }
        let cmd: ParsedCommand;
        try {
          cmd = parseCommand(r.raw);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          this.commandEvent(r.raw.toString('latin1', 0, Math.min(r.raw.length, 120)).replace(/[\r\n]+/g, ' '));
          this.send(`${err.tag ?? '*'} BAD ${err.message}`);
          if (this.countBad()) {
            this.send('* BYE Too many errors');
            break;
          }
          continue;
        }
        await this.dispatch(cmd, r.raw);
        if (this.conn.closing && (this.state as ImapState) !== 'logout') {
          this.send('* BYE Server shutting down');
          break;
        }
      }
    } finally {
      this.end();
    }
  }

  private literalLimit(firstLine: string): number {
    if (this.state === 'not-authenticated') return IMAP_LIMITS.maxLiteralBeforeAuth;
    if (/^\S+ APPEND /i.test(firstLine)) return this.shared.config.appendLimit;
    return IMAP_LIMITS.maxLiteralOther;
  }

  private async dispatch(cmd: ParsedCommand, raw: Buffer): Promise<void> {
    const spec = this.shared.registry.get(cmd.name);
    if (this.shared.events.wants('command')) {
      const firstLine = raw.toString('latin1', 0, Math.min(raw.length, 300)).split('\r\n')[0];
      this.commandEvent(spec?.redact ? spec.redact(firstLine) : firstLine, cmd.name);
    }
    if (!spec) return this.badReply(cmd.tag, `Unknown command ${cmd.name.slice(0, 40)}`);
    if (!spec.states.includes(this.state)) {
      const why = this.state === 'not-authenticated' ? 'log in first' : this.state === 'authenticated' ? 'select a mailbox first' : 'not allowed now';
      return this.badReply(cmd.tag, `${cmd.name} not allowed in this state: ${why}`);
    }
    if (cmd.args.length < spec.minArgs || cmd.args.length > spec.maxArgs) return this.badReply(cmd.tag, `${cmd.name}: wrong number of arguments`);
    // One write per command: the untagged data and the tagged completion leave together.
    this.cork();
    try {
      const text = await spec.handler(this, { tag: cmd.tag, name: cmd.name, args: cmd.args });
      // LOGOUT and STARTTLS answer themselves (before closing / before the handshake).
      if (this.state === 'logout' || text === '') return;
      this.reportChanges(spec.expungeAfter);
      this.send(`${cmd.tag} ${text}`);
      const after = this.afterReply;
      if (after) {
        this.afterReply = undefined;
        // The tagged reply must be on the wire before the step that follows it (the TLS handshake).
        this.uncork();
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
    } finally {
      this.uncork();
    }
  }

  private badReply(tag: string, text: string): void {
    this.send(`${tag} BAD ${text}`);
    if (this.countBad()) {
      this.send('* BYE Too many protocol errors');
      this.state = 'logout';
      this.uncork();
      this.conn.close('too many bad commands');
    }
  }

  /** Holds this command's output so that it leaves in one write (one TCP segment for small answers). */
  cork(): void {
    if (!this.held) {
      this.held = [];
      this.heldOctets = 0;
    }
  }

  uncork(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    if (held.length === 0) return;
    if (held.length === 1) {
      const p = held[0];
      this.conn.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
      return;
    }
    const bufs = held.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p));
    this.conn.write(Buffer.concat(bufs));
  }

  /** Octets held so far (FETCH flushes big answers in pieces). */
  get pendingOctets(): number {
    return this.held ? this.heldOctets : this.conn.socket.writableLength;
  }

  /** Lets held output go and waits for the socket to drain (big FETCH answers). */
  async flushOutput(): Promise<void> {
    const wasHeld = this.held !== undefined;
    this.uncork();
    await this.conn.drain();
    if (wasHeld) this.cork();
  }

  /** FLAGS data item for a message (with \Recent when this session holds it). */
  flagsItem(m: StoredMessage): string {
    const recent = this.selected?.recent.has(m.uid) ?? false;
    if (!recent) return `FLAGS (${m.flags.join(' ')})`;
    return m.flags.length > 0 ? `FLAGS (${m.flags.join(' ')} \\Recent)` : 'FLAGS (\\Recent)';
  }

  /** Sends what other sessions changed in the selected mailbox (section 7.4.1 rules via the view). */
  reportChanges(allowExpunge: boolean): void {
    const view = this.selected;
    if (!view || !view.hasPending) return;
    const lines = view.flush(allowExpunge, (m) => this.flagsItem(m));
    if (lines.length > 0) this.sendLines(lines);
    if (view.gone) {
      // The folder was deleted or renamed by someone else: nothing can be done in it any more.
      this.sendLines(['* BYE The selected mailbox was deleted or renamed']);
      this.state = 'logout';
      this.uncork();
      this.conn.close('selected mailbox vanished');
    }
  }

  /** Logs the user in: checks the sessions-per-user limit and prepares the mailbox. */
  async authenticated(user: string): Promise<void> {
    const n = this.shared.sessionsPerUser.get(user) ?? 0;
    if (n >= this.shared.config.maxSessionsPerUser) {
      throw new ImapError('LIMIT', 'NO', `Too many sessions for ${user} (at most ${this.shared.config.maxSessionsPerUser})`, 'LIMIT');
    }
    await this.store.ensureUser(user);
    this.shared.sessionsPerUser.set(user, n + 1);
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
  }

  private ended = false;
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.selected?.close();
    this.selected = undefined;
    if (this.user) {
      const n = (this.shared.sessionsPerUser.get(this.user) ?? 1) - 1;
      if (n <= 0) this.shared.sessionsPerUser.delete(this.user);
      else this.shared.sessionsPerUser.set(this.user, n);
    }
  }
}
