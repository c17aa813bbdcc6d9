// One POP3 session (RFC 1939) on the line-session base: the greeting with its APOP timestamp, POP3's
// command grammar (command-line.ts) and its -ERR answers, multi-line and message output, and the
// maildrop lock held from login to the end of the session. The loop, PIPELINING's batched replies
// (RFC 2449 section 6.6), continuation reads and STLS are the base's. Deletions reach the store only
// in the UPDATE state after QUIT; any other ending (peer gone, idle timeout, error limit, shutdown)
// leaves the maildrop as it was.
import type { Accounts } from '../../core/auth.js';
import type { Connection } from '../../core/connection.js';
import { EVENT_PAYLOAD_MAX, messageExcerpt, type EventBus } from '../../core/events.js';
import { FramerError } from '../../core/line-framer.js';
import { LineSession, type CommandSpec, type CommandTable, type Interceptor, type ParsedCommand, type TlsPolicy } from '../../core/line-session/index.js';
import { redactUnknown, REDACTED, shownWord } from '../../core/redact.js';
import type { Capabilities } from './capabilities.js';
import { parseCommandLine } from './command-line.js';
import { DotStuffer, stuffWhole } from './dot-stuffing.js';
import { POP3_LIMITS } from './limits.js';
import { Maildrop, type MaildropEntry, type MaildropStore, type MessageContent } from './maildrop.js';
import { TopFilter } from './message-top.js';
import { errLine, okLine, plural, Pop3Error } from './replies.js';
import type { Pop3State } from './state.js';

/** A command's handler: the arguments, and the raw text after the keyword (PASS takes it whole). */
export type Pop3Handler = (s: Pop3Session, args: string[], rest: string) => void | Promise<void>;

/** One POP3 command module. */
export interface Pop3Command extends CommandSpec<Pop3State, Pop3Handler> {
  /** Shown in the -ERR reply when the arguments are wrong. */
  usage: string;
}

export interface Pop3SessionDeps {
  events: EventBus;
  accounts: Accounts;
  store: MaildropStore;
  capabilities: Capabilities;
  commands: CommandTable<Pop3State, Pop3Command>;
  /** Host name in the greeting and the APOP timestamp. */
  hostname: string;
  /** Name in the greeting and the IMPLEMENTATION capability. */
  implementation: string;
  maxErrors: number;
  /** STLS offered or not, TLS before USER/PASS/APOP/AUTH (tls.requireTlsForAuth). */
  tls: TlsPolicy;
  /** Fault injection (tests); see core/line-session/interceptor.ts. */
  interceptor?: Interceptor;
  /** When a session from another address may take a held lock over (see config.ts lockIdleMs). */
  lockPolicy?: { idleMs: number; maxHoldMs: number };
}

interface Pop3Parsed extends ParsedCommand {
  args: string[];
  rest: string;
}

/** Shown in multi-line reply events instead of every line past this many. */
const EVENT_LINES = 50;

export class Pop3Session extends LineSession<Pop3State, Pop3Command, Pop3Parsed> {
  state: Pop3State = 'AUTHORIZATION';
  /** Name given by USER, waiting for PASS (RFC 1939 section 7). */
  pendingUser: string | undefined;
  /** Set once authenticated; the maildrop is locked for this user. */
  user: string | undefined;
  maildrop: Maildrop | undefined;
  /** The APOP timestamp from the greeting, e.g. <1234.1700000000000.7@labnet.lab.test>. */
  readonly timestamp: string;
  private unlock: (() => void) | undefined;
  /** When the maildrop lock was taken, when the last command started, whether one is running. */
  private lockedAt = 0;
  private lastCommandAt = Date.now();
  private running = false;

  constructor(
    conn: Connection,
    readonly deps: Pop3SessionDeps,
  ) {
    super(
      conn,
      deps.events,
      { maxBadCommands: deps.maxErrors, maxCommandLine: POP3_LIMITS.maxCommandLine, tls: deps.tls, interceptor: deps.interceptor },
      deps.commands,
    );
    const seq = conn.id.slice(conn.id.lastIndexOf('-') + 1);
    this.timestamp = `<${process.pid}.${Date.now()}.${seq}@${deps.hostname}>`;
  }

  protected greet(): void {
    // RFC 1939 section 7: an APOP-capable server puts a timestamp in its greeting. APOP needs a clear
    // password: with only hashed (roster) accounts there is none, so no timestamp is offered.
    const apop = this.deps.accounts.anyClearPassword() ? ` ${this.timestamp}` : '';
    this.send(okLine(`${this.deps.implementation} POP3 server ready${apop}`));
  }

  protected parse(raw: Buffer): Pop3Parsed | undefined {
    const parsed = parseCommandLine(raw);
    if (!parsed.ok) {
      this.commandEvent(`<unreadable command: ${parsed.reason}>`);
      this.refuse(new Pop3Error('BAD_SYNTAX', parsed.reason));
      return undefined;
    }
    return { name: parsed.name, argCount: parsed.args.length, line: parsed.normalized, args: parsed.args, rest: parsed.rest };
  }

  protected async execute(cmd: Pop3Parsed, spec: Pop3Command): Promise<void> {
    this.lastCommandAt = Date.now();
    this.running = true;
    try {
      await spec.handler(this, cmd.args, cmd.rest);
    } catch (err) {
      if (!(err instanceof Pop3Error)) throw err;
      this.refuse(err);
    } finally {
      this.running = false;
      this.lastCommandAt = Date.now();
    }
  }

  /** The rest of an unknown command might be a mistyped password: keep only the keyword. */
  protected override unknownCommandText(cmd: Pop3Parsed): string {
    return redactUnknown(cmd.line);
  }

  protected onUnknown(cmd: Pop3Parsed): void {
    // The keyword as typed, unless it may be a secret sent out of turn (core/redact.ts shownWord).
    this.refuse(new Pop3Error('UNKNOWN_COMMAND', `unknown command "${shownWord(cmd.line.trim().split(' ', 1)[0])}"`));
  }

  protected onWrongState(_cmd: Pop3Parsed, spec: Pop3Command): void {
    this.refuse(
      new Pop3Error('WRONG_STATE', `${spec.name} is not allowed in the ${this.state} state${this.state === 'AUTHORIZATION' ? ': log in first' : ''}`),
    );
  }

  protected onBadArgs(_cmd: Pop3Parsed, spec: Pop3Command): void {
    this.refuse(new Pop3Error('BAD_SYNTAX', `usage: ${spec.usage}`));
  }

  /** tls.requireTlsForAuth before STLS: USER, PASS, APOP and AUTH answer -ERR [AUTH] (and CAPA hides them). */
  protected onTlsRequired(): void {
    this.refuse(new Pop3Error('TLS_REQUIRED', 'authentication needs TLS first: send STLS (or use the POP3S port)', 'AUTH'));
  }

  protected onLineTooLong(): void {
    this.commandEvent('<command line too long>');
    this.refuse(new Pop3Error('LINE_TOO_LONG', `command line too long (at most ${POP3_LIMITS.maxCommandLine} octets)`));
  }

  protected onShutdown(): void {
    this.send(errLine('server shutting down, nothing was deleted', 'SYS/TEMP'));
  }

  /** RFC 2595 section 4: after STLS the client starts over; a USER name given before is forgotten. */
  protected override onTlsStarted(): void {
    this.pendingUser = undefined;
  }

  protected override onEnd(): void {
    this.releaseLock();
  }

  /** Answers -ERR; past the error limit the session ends after this reply. */
  refuse(err: Pop3Error): void {
    if (err.countsAsError && this.countBad()) {
      this.send(`${err.reply} (too many errors, closing the connection)`);
      this.notice('warn', `session ended after ${this.badCommands} errors`);
      this.ending = true;
      return;
    }
    this.send(err.reply);
  }

  /** The maildrop; only called by TRANSACTION-state commands. */
  get drop(): Maildrop {
    if (!this.maildrop) throw new Error('no maildrop outside the TRANSACTION state');
    return this.maildrop;
  }

  /**
   * After a successful authentication: lock and open the maildrop, enter TRANSACTION (RFC 1939
   * section 4). If the lock is taken the reply is -ERR [IN-USE] and the session stays in
   * AUTHORIZATION (RFC 2449 section 8.1.2).
   */
  async openMaildrop(user: string, method: string): Promise<void> {
    let unlock = this.deps.store.lock(user, this);
    if (!unlock && this.takeOverLock(user)) unlock = this.deps.store.lock(user, this);
    if (!unlock) {
      throw new Pop3Error('MAILDROP_LOCKED', `maildrop of ${user} is in use by another POP3 session, try again later`, 'IN-USE', false);
    }
    let entries: MaildropEntry[];
    try {
      entries = await this.deps.store.list(user);
    } catch (err) {
      unlock();
      this.notice('error', `cannot open the maildrop of ${user}: ${err instanceof Error ? err.message : String(err)}`);
      throw new Pop3Error('MAILDROP_UNAVAILABLE', 'cannot open the maildrop, try again later', 'SYS/TEMP', false);
    }
    if (this.conn.closed) {
      // The client went away while the maildrop was being opened.
      unlock();
      this.ending = true;
      return;
    }
    this.unlock = unlock;
    this.lockedAt = Date.now();
    this.user = user;
    this.pendingUser = undefined;
    this.maildrop = new Maildrop(user, entries);
    this.state = 'TRANSACTION';
    this.send(okLine(`${user}'s maildrop has ${plural(this.maildrop.count, 'message')} (${this.maildrop.size} octets)`));
    this.notice('info', `${user} logged in with ${method}; maildrop locked with ${plural(this.maildrop.count, 'message')}: TRANSACTION state`);
  }

  private releaseLock(): void {
    const unlock = this.unlock;
    this.unlock = undefined;
    unlock?.();
  }

  /**
   * A shared account's lock is bounded per address (issue 14): when the holder is a session from
   * another address that has been idle longer than lockIdleMs, or has held the lock longer than
   * lockMaxHoldMs, its session ends (no UPDATE state, RFC 1939 section 6: nothing it marked is
   * deleted) and the lock is free. While the holder works within both bounds, or is from the same
   * address, the newcomer gets -ERR [IN-USE] (RFC 2449 section 8.1.1). True when the lock was freed.
   */
  private takeOverLock(user: string): boolean {
    const holder = this.deps.store.holder(user);
    const policy = this.deps.lockPolicy;
    if (!(holder instanceof Pop3Session) || policy === undefined || holder === this) return false;
    if (holder.conn.peer.address === this.conn.peer.address) return false;
    const now = Date.now();
    const idle = holder.running ? 0 : now - holder.lastCommandAt;
    const held = now - holder.lockedAt;
    if (idle <= policy.idleMs && held <= policy.maxHoldMs) return false;
    const why = idle > policy.idleMs ? `idle for ${Math.round(idle / 1000)} s` : `held for ${Math.round(held / 1000)} s`;
    holder.notice('warn', `maildrop lock of ${user} given up (${why}) to a session from another address; nothing was deleted`);
    holder.releaseLock();
    holder.ending = true;
    holder.conn.close('maildrop lock taken over');
    this.notice('info', `maildrop lock of ${user} taken over from a session ${why}`);
    return true;
  }

  /**
   * A multi-line response (RFC 1939 section 3): the status line, the lines (dot-stuffed), then ".".
   * Sent in one write.
   */
  sendMultiline(status: string, lines: readonly string[]): void {
    let text = `${status}\r\n`;
    for (const l of lines) text += l.charCodeAt(0) === 0x2e ? `.${l}\r\n` : `${l}\r\n`;
    text += '.\r\n';
    const summary =
      lines.length <= EVENT_LINES ? `${status}\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}.` : `${status} (${lines.length} lines follow)`;
    this.sendData(text, summary);
  }

  /**
   * RETR and TOP: the status line, then the message dot-stuffed (RFC 1939 section 7). A small
   * message goes out in one write; a large one is streamed with backpressure, so it is never held
   * whole in memory. `bodyLines` set means TOP.
   */
  async sendMessage(n: number, status: string, bodyLines?: number): Promise<void> {
    const entry = this.drop.entry(n);
    let content: MessageContent;
    try {
      content = await this.deps.store.read(this.drop.user, entry);
    } catch (err) {
      this.notice('error', `cannot read message ${n} (${entry.uid}): ${err instanceof Error ? err.message : String(err)}`);
      // Removed meanwhile by another client (IMAP EXPUNGE): the message is gone for good.
      if ((err as { code?: unknown }).code === 'NO_SUCH_MESSAGE')
        throw new Pop3Error('NO_SUCH_MESSAGE', `message ${n} was removed by another client`, 'SYS/PERM', false);
      throw new Pop3Error('MAILDROP_UNAVAILABLE', `message ${n} cannot be read now`, 'SYS/TEMP', false);
    }
    const top = bodyLines === undefined ? undefined : new TopFilter(bodyLines);
    if (content.kind === 'buffer') {
      const data = top ? top.push(content.data) : content.data;
      this.sendData(stuffWhole(data, Buffer.from(`${status}\r\n`, 'latin1')), `${status} (${data.length} octets of message follow)`, data.length, () =>
        messageExcerpt([data]),
      );
      return;
    }
    // A large message goes out chunk by chunk, waiting while the socket's buffer is full.
    await this.sendChunk(`${status}\r\n`);
    const stuffer = new DotStuffer();
    let sent = 0;
    // The start of the message, for the reply event's payload (bounded: EVENT_PAYLOAD_MAX octets).
    const start: Buffer[] = [];
    for await (const chunk of content.chunks) {
      const piece = top ? top.push(chunk) : chunk;
      if (sent < EVENT_PAYLOAD_MAX) start.push(piece.subarray(0, EVENT_PAYLOAD_MAX - sent));
      sent += piece.length;
      await this.sendChunk(stuffer.push(piece));
      if (this.conn.closed) throw new Error(`connection closed while sending message ${n}`);
      if (top?.done) break;
    }
    this.sendData(stuffer.finish(), `${status} (${sent} octets of message follow)`, sent, () => messageExcerpt(start));
  }

  /**
   * QUIT in TRANSACTION (RFC 1939 section 6): enter UPDATE, remove the messages marked as deleted,
   * release the lock and say goodbye.
   */
  async update(): Promise<void> {
    const drop = this.drop;
    this.state = 'UPDATE';
    this.ending = true;
    const doomed = drop.markedForDeletion();
    let failed = 0;
    if (doomed.length > 0) {
      try {
        ({ failed } = await this.deps.store.remove(drop.user, doomed));
      } catch (err) {
        failed = doomed.length;
        this.notice('error', `removing messages of ${drop.user} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.releaseLock();
    this.notice(
      'info',
      `UPDATE state: ${plural(doomed.length - failed, 'message')} removed from the maildrop of ${drop.user}${failed ? `, ${failed} could not be removed` : ''}`,
    );
    if (failed > 0) {
      // RFC 1939 section 6: -ERR when some deleted messages could not be removed.
      this.send(errLine(`${plural(failed, 'deleted message')} not removed; signing off`, 'SYS/TEMP'));
      return;
    }
    const left = drop.count;
    this.send(okLine(`${this.deps.implementation} POP3 server signing off (${left === 0 ? 'maildrop empty' : `${plural(left, 'message')} left`})`));
  }

  /** Reads one SASL client response line (RFC 5034 section 4); null if the client went away. */
  async readSaslResponse(): Promise<string | null> {
    let raw: Buffer | null;
    try {
      raw = await this.expectNext(POP3_LIMITS.maxSaslResponse);
    } catch (err) {
      if (!(err instanceof FramerError)) throw err;
      this.commandEvent(REDACTED);
      throw new Pop3Error('LINE_TOO_LONG', `authentication response too long (at most ${POP3_LIMITS.maxSaslResponse} octets)`);
    }
    if (raw === null) return null;
    this.commandEvent(REDACTED);
    return raw.toString('latin1');
  }
}
