// The session base for the line protocols (SMTP, POP3, IMAP). It owns the loop: read a command, parse
// it (the protocol's grammar), look it up in the one command table (state and argument count), call
// the protocol's hook for an unknown command, a wrong state, bad arguments or authentication before
// TLS, ask the interceptor, run the handler, and write the replies.
//
// Output: every reply goes through `send`/`sendLines`/`sendData` and is held; held replies are written
// in one write when the loop would otherwise wait for input, so the answers to a pipelined batch leave
// together (RFC 2920 section 3.1, RFC 2449 section 6.6, RFC 3501 section 5.5). Before reading the next
// command the loop waits while the socket's send buffer is above its high-water mark, so a client that
// pipelines and never reads cannot make the server buffer replies without bound: the loop stops
// reading, the framer's buffer fills and TCP pushes back on the client.
//
// Input after the command line (AUTH exchanges, DATA, BDAT, IMAP literals, IDLE's DONE) is read only
// through the `expect*` methods, which send what is held before they wait. Nothing else reads the
// framer.
import { redactUnknown } from '../redact.js';
import type { Connection, TlsUpgradeOptions } from '../connection.js';
import type { EventBus } from '../events.js';
import { FramerError, type DotDataResult } from '../line-framer.js';
import type { CommandSpec, CommandTable } from './command-table.js';
import type { Interception, Interceptor, SessionStep } from './interceptor.js';
import type { TlsPolicy } from './tls-policy.js';

/** Held output is written once it reaches this many octets, even while more commands are waiting. */
const OUTPUT_BATCH = 64 * 1024;

export interface LineSessionOptions {
  /** After this many bad commands the protocol ends the session (see `countBad`). */
  maxBadCommands: number;
  /** Longest command line the loop reads (without CRLF); a longer one goes to `onLineTooLong`. */
  maxCommandLine: number;
  /** STARTTLS offered or not, TLS before authentication, the implicit-TLS listener. */
  tls: TlsPolicy;
  /** Fault injection for tests (see interceptor.ts); absent in normal operation. */
  interceptor?: Interceptor;
  /** How reply strings become octets: 'latin1' for IMAP's binary strings. Default 'utf8'. */
  encoding?: 'utf8' | 'latin1';
}

/** What a protocol's `parse` makes of one command. */
export interface ParsedCommand {
  /** Upper-case name as the table knows it ('MAIL', 'UID FETCH'). */
  readonly name: string;
  /** Words or tokens after the name (checked against the spec's minArgs/maxArgs). */
  readonly argCount: number;
  /** The command's (first) line as text, before redaction. */
  readonly line: string;
  /** IMAP's tag. */
  readonly tag?: string;
}

export abstract class LineSession<S extends string, Spec extends CommandSpec<S, unknown>, Cmd extends ParsedCommand = ParsedCommand> {
  abstract state: S;
  /** Set when the session is over (QUIT, too many errors, the client went away): no more commands are read. */
  ending = false;
  badCommands = 0;
  private held: Array<string | Buffer> = [];
  private heldOctets = 0;
  /** The session idles in expectNext(..., true): what it sends meanwhile (IDLE's updates) is written at once. */
  private waiting = false;
  private readonly encoding: 'utf8' | 'latin1';
  /** Fault injection (closeAfterBytes): octets still to write before the connection is dropped. */
  private dropAfter: number | undefined;
  private dropped = false;

  constructor(
    readonly conn: Connection,
    protected readonly events: EventBus,
    readonly options: LineSessionOptions,
    protected readonly commands: CommandTable<S, Spec>,
  ) {
    this.encoding = options.encoding ?? 'utf8';
  }

  get id(): string {
    return this.conn.id;
  }

  get service(): string {
    return this.conn.service;
  }

  // ---- what each protocol supplies ----

  /** Sends the greeting. */
  protected abstract greet(): void | Promise<void>;
  /** Turns a command's octets into name, argument count and line; undefined when it already answered (unreadable input). */
  protected abstract parse(raw: Buffer): Cmd | undefined;
  /** Runs the command's handler and sends its reply. */
  protected abstract execute(cmd: Cmd, spec: Spec): void | Promise<void>;
  protected abstract onUnknown(cmd: Cmd): void;
  protected abstract onWrongState(cmd: Cmd, spec: Spec): void;
  protected abstract onBadArgs(cmd: Cmd, spec: Spec): void;
  /** A command marked `authentication` while the TLS policy wants TLS first. */
  protected abstract onTlsRequired(cmd: Cmd, spec: Spec): void;
  /** A command line longer than `maxCommandLine` (already read to its end and dropped). */
  protected abstract onLineTooLong(): void;
  /** The server is shutting down and this session just finished a command: say goodbye. */
  protected abstract onShutdown(): void;
  /** After a STARTTLS handshake: forget what the plain-text part of the session established. */
  protected onTlsStarted(): void {}
  /** The session is over (release locks and counters). Runs once, whatever ended it. */
  protected onEnd(): void {}
  /** What a command event shows for an unknown command (the rest might be a mistyped secret). */
  protected unknownCommandText(cmd: Cmd): string {
    return redactUnknown(cmd.line.slice(0, 200));
  }

  /** Reads one command's octets. Null at the end of input; undefined when it was refused while being read (already answered). */
  protected readCommand(): Promise<Buffer | null | undefined> {
    return this.readCommandLine();
  }

  // ---- the loop ----

  async run(): Promise<void> {
    try {
      if (!(this.options.interceptor !== undefined && (await this.intercept({ kind: 'greeting' })))) await this.greet();
      while (!this.ending && !this.conn.closed) {
        if (this.conn.closing) {
          // Shutdown while this session was busy: the command is finished, now say goodbye.
          this.onShutdown();
          break;
        }
        if (this.heldOctets > 0 && (this.heldOctets >= OUTPUT_BATCH || !this.conn.framer.hasLine())) this.flush();
        if (this.conn.socket.writableNeedDrain) {
          this.flush();
          await this.conn.drain();
          continue;
        }
        let raw: Buffer | null | undefined;
        try {
          raw = await this.readCommand();
        } catch (err) {
          if (!(err instanceof FramerError)) throw err;
          this.onLineTooLong();
          continue;
        }
        if (raw === null) break;
        if (raw !== undefined) await this.dispatch(raw);
      }
    } finally {
      this.flush();
      this.onEnd();
    }
  }

  private async dispatch(raw: Buffer): Promise<void> {
    const cmd = this.parse(raw);
    if (cmd === undefined) return;
    const found = this.commands.lookup(cmd.name, this.state, cmd.argCount);
    if (found.kind === 'unknown') {
      if (this.conn.wants('command')) this.commandEvent(this.unknownCommandText(cmd), cmd.name);
      this.onUnknown(cmd);
      return;
    }
    const spec = found.spec;
    if (this.conn.wants('command')) this.commandEvent(this.shown(cmd, spec), spec.name);
    if (found.kind === 'wrong-state') return this.onWrongState(cmd, spec);
    if (found.kind === 'bad-args') return this.onBadArgs(cmd, spec);
    if (spec.authentication === true && !this.authAllowed) return this.onTlsRequired(cmd, spec);
    const interceptor = this.options.interceptor;
    if (interceptor !== undefined) {
      const step: SessionStep = { kind: 'command', name: spec.name, line: this.shown(cmd, spec), ...(cmd.tag !== undefined ? { tag: cmd.tag } : {}) };
      // An interceptor with nothing to say answers undefined synchronously: no await on the hot path.
      const answer = interceptor(this, step);
      if (answer !== undefined && (await this.applyInterception(await answer))) return;
    }
    await this.execute(cmd, spec);
  }

  /** The command line as events show it. */
  private shown(cmd: Cmd, spec: Spec): string {
    return spec.redact ? spec.redact(cmd.line) : cmd.line;
  }

  /**
   * Asks the interceptor about `step`. True when the step must not run: a reply was sent instead, or
   * the connection was closed.
   */
  async intercept(step: SessionStep): Promise<boolean> {
    const interceptor = this.options.interceptor;
    if (interceptor === undefined) return false;
    return this.applyInterception(await interceptor(this, step));
  }

  private async applyInterception(i: Interception | undefined): Promise<boolean> {
    if (i === undefined) return false;
    if (i.closeAfterBytes !== undefined) this.dropAfter = Math.min(this.dropAfter ?? Infinity, i.closeAfterBytes);
    if (i.delayMs !== undefined && i.delayMs > 0) {
      this.flush();
      await new Promise((r) => setTimeout(r, i.delayMs));
    }
    if (i.reply !== undefined) this.sendLines(typeof i.reply === 'string' ? [i.reply] : i.reply);
    if (i.close === true) {
      this.flush();
      this.ending = true;
      this.conn.close('closed by the interceptor');
      return true;
    }
    return i.reply !== undefined;
  }

  /** Counts a bad command; true when the session has had `maxBadCommands` and must end. */
  countBad(): boolean {
    this.badCommands++;
    return this.badCommands >= this.options.maxBadCommands;
  }

  // ---- output ----

  private out(data: string | Buffer, octets: number): void {
    this.held.push(data);
    this.heldOctets += octets;
    if (this.waiting) this.flush();
  }

  /** Sends one reply line (CRLF added) and publishes it as a reply event. */
  send(line: string): void {
    this.out(`${line}\r\n`, line.length + 2);
    if (this.conn.wants('reply')) this.events.publish({ type: 'reply', service: this.service, session: this.id, text: line });
  }

  /** Sends several lines, published as one reply event. */
  sendLines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = lines.join('\r\n');
    this.out(`${text}\r\n`, text.length + 2);
    if (this.conn.wants('reply')) this.events.publish({ type: 'reply', service: this.service, session: this.id, text });
  }

  /** Sends octets (message bodies, literals); the event shows `summary` and `bytes` (default: the octets sent). */
  sendData(data: Buffer | string, summary: string, bytes?: number, payload?: () => string): void {
    const octets = typeof data === 'string' ? data.length : data.length;
    this.out(data, octets);
    if (this.conn.wants('reply')) {
      const n = bytes ?? (typeof data === 'string' ? Buffer.byteLength(data, this.encoding) : data.length);
      this.events.publish({ type: 'reply', service: this.service, session: this.id, text: summary, bytes: n, ...(payload ? { payload: payload() } : {}) });
    }
  }

  /**
   * Like sendData for an answer in pieces, joined once when written. `payload` (called only when
   * somebody listens) is what the event shows of the data, and `bytes` the octets it stands for.
   */
  sendBuffers(parts: readonly Buffer[], octets: number, summary: string, payload?: () => { text: string; bytes: number } | undefined): void {
    for (const p of parts) this.held.push(p);
    this.heldOctets += octets;
    if (this.waiting) this.flush();
    if (this.conn.wants('reply')) {
      const p = payload?.();
      this.events.publish({
        type: 'reply',
        service: this.service,
        session: this.id,
        text: summary,
        bytes: octets,
        ...(p !== undefined ? { payload: p.text, payloadBytes: p.bytes } : {}),
      });
    }
  }

  /**
   * Sends a piece of a long answer now (a message body streamed in chunks) and waits while the socket's
   * buffer is full. No event: the caller publishes one for the whole answer.
   */
  async sendChunk(data: Buffer | string): Promise<void> {
    this.out(data, data.length);
    this.flush();
    if (this.conn.socket.writableNeedDrain) await this.conn.drain();
  }

  /** Octets held and not yet written. */
  get pendingOctets(): number {
    return this.heldOctets;
  }

  /** Writes what is held, in one write. */
  flush(): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    this.heldOctets = 0;
    if (held.length === 1) {
      const p = held[0];
      this.write(typeof p === 'string' && this.encoding !== 'utf8' ? Buffer.from(p, this.encoding) : p);
      return;
    }
    let strings = true;
    for (const p of held) if (typeof p !== 'string') strings = false;
    if (strings) {
      const text = (held as string[]).join('');
      this.write(this.encoding === 'utf8' ? text : Buffer.from(text, this.encoding));
      return;
    }
    this.write(Buffer.concat(held.map((p) => (typeof p === 'string' ? Buffer.from(p, this.encoding) : p))));
  }

  private write(data: string | Buffer): void {
    if (this.dropAfter === undefined) {
      this.conn.write(data);
      return;
    }
    // A fault rule cuts the answer: write what is left of its budget, then drop the connection.
    if (this.dropped) return;
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (buf.length < this.dropAfter) {
      this.dropAfter -= buf.length;
      this.conn.write(buf);
      return;
    }
    if (this.dropAfter > 0) this.conn.write(buf.subarray(0, this.dropAfter));
    this.dropped = true;
    this.held = [];
    this.heldOctets = 0;
    this.ending = true;
    this.conn.close('closed by a fault rule (closeAfterBytes)');
  }

  /** Writes what is held and waits until the socket has taken it (long answers in pieces). */
  async flushAndDrain(): Promise<void> {
    this.flush();
    await this.conn.drain();
  }

  // ---- input ----

  /** The next command line; the session counts as idle while it waits (shutdown closes it at once). */
  protected readCommandLine(): Promise<Buffer | null> {
    return this.conn.readCommandLine(this.options.maxCommandLine);
  }

  /**
   * The next line of a multi-step exchange (an AUTH response, IMAP's DONE), at most `maxBytes`
   * octets; null if the input ends. An over-long line is read to its end and FramerError thrown.
   * `idle`: the session counts as idle while waiting (IDLE: closed at once at shutdown, and what it
   * sends meanwhile is written at once).
   */
  async expectNext(maxBytes: number, idle = false): Promise<Buffer | null> {
    if (!this.conn.framer.hasLine()) this.flush();
    if (!idle) return this.conn.framer.readLine(maxBytes);
    this.waiting = true;
    try {
      return await this.conn.readCommandLine(maxBytes);
    } finally {
      this.waiting = false;
    }
  }

  /** Exactly `n` octets (an IMAP literal); null if the input ends first. */
  expectOctets(n: number): Promise<Buffer | null> {
    if (this.conn.framer.buffered < n) this.flush();
    return this.conn.framer.readBytes(n);
  }

  /** Between 1 and `max` octets (counted data streamed in pieces: BDAT); null at the end of input. */
  expectChunk(max: number): Promise<Buffer | null> {
    if (this.conn.framer.buffered === 0) this.flush();
    return this.conn.framer.readChunk(max);
  }

  /** SMTP DATA content, dot-unstuffed into `sink` (see LineFramer.readDotData). */
  expectDotData(sink: (chunk: Buffer) => void, maxSize: number): Promise<DotDataResult | null> {
    this.flush();
    return this.conn.framer.readDotData(sink, maxSize);
  }

  /** Waits for the first octets of input without consuming them (SMTP's TLS-on-the-plain-port check); null at end. */
  protected async peekInput(): Promise<Buffer | null> {
    this.flush();
    if (this.conn.closing && this.conn.framer.buffered === 0) {
      this.conn.shutdownNow();
      return null;
    }
    this.conn.markIdle(true);
    try {
      return await this.conn.framer.peek();
    } finally {
      this.conn.markIdle(false);
    }
  }

  // ---- TLS ----

  /** STARTTLS/STLS is offered to this session now (config, TLS material, not yet TLS). */
  get startTlsOffered(): boolean {
    return this.options.tls.startTlsOffered(this.conn);
  }

  /** Authentication may go ahead on this connection (tls.requireTlsForAuth). */
  get authAllowed(): boolean {
    return this.options.tls.authAllowed(this.conn);
  }

  /**
   * STARTTLS (RFC 3207, RFC 2595, RFC 3501 section 6.2.1): the replies so far go out, the handshake
   * runs with the policy's options, and the protocol forgets the plain-text session (onTlsStarted).
   */
  async startTls(): Promise<void> {
    await this.upgradeTls(this.options.tls.upgradeOptions());
    this.onTlsStarted();
  }

  /** A TLS upgrade in place with given options; pipelined plaintext is discarded (see Connection.upgradeTls). */
  async upgradeTls(options: TlsUpgradeOptions): Promise<void> {
    this.flush();
    const { discarded } = await this.conn.upgradeTls(options);
    if (this.events.active) {
      this.events.publish({ type: 'tls', service: this.service, session: this.id, step: 'starttls-complete', detail: { discardedPlaintextOctets: discarded } });
    }
  }

  // ---- events ----

  /**
   * Publishes a received command; `text` must already be redacted. `payload` (built only when somebody
   * listens) is what came with it, such as message data (CommandEvent.payload), `payloadBytes` its size.
   */
  commandEvent(text: string, name?: string, payload?: () => string, payloadBytes?: number): void {
    if (this.conn.wants('command'))
      this.events.publish({
        type: 'command',
        service: this.service,
        session: this.id,
        text,
        ...(name ? { name } : {}),
        ...(payload ? { payload: payload(), ...(payloadBytes !== undefined ? { payloadBytes } : {}) } : {}),
      });
  }

  /**
   * Publishes a login attempt (never the secret). Called right after the password check, before any
   * later step (a maildrop lock, a session limit) decides whether the session really logs in.
   */
  authEvent(user: string, ok: boolean, mechanism: string): void {
    if (this.events.active) this.events.publish({ type: 'auth', service: this.service, session: this.id, user: user.slice(0, 64), ok, mechanism });
  }

  /** Publishes something a student should see about this session. */
  notice(level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>): void {
    if (this.events.active) this.events.publish({ type: 'notice', service: this.service, session: this.id, level, message, ...(detail ? { detail } : {}) });
  }
}
