// The session base for line protocols (SMTP, POP3, IMAP): one reply path that also publishes reply
// events, command events with secrets redacted, a command table with declared states and argument
// counts checked before dispatch, and a bad-command counter that ends abusive sessions.
import type { Connection, TlsUpgradeOptions } from './connection.js';
import type { EventBus } from './events.js';

export interface CommandSpec<S extends string, Ctx> {
  /** Upper-case command name ('MAIL', 'UID FETCH'). */
  name: string;
  /** States in which the command is allowed. */
  states: readonly S[];
  /** Argument count bounds (words after the name), checked before the handler runs. */
  minArgs?: number;
  maxArgs?: number;
  /** Returns the command line as it may be shown in events and logs (secrets removed). */
  redact?: (line: string) => string;
  handler: (ctx: Ctx, args: string[], line: string) => void | Promise<void>;
}

export type Lookup<S extends string, Ctx> =
  | { kind: 'ok'; spec: CommandSpec<S, Ctx>; args: string[] }
  | { kind: 'unknown'; name: string }
  | { kind: 'wrong-state'; spec: CommandSpec<S, Ctx> }
  | { kind: 'bad-args'; spec: CommandSpec<S, Ctx> };

/** A static command registry: name -> spec, with aliases. */
export class CommandTable<S extends string, Ctx> {
  private readonly byName = new Map<string, CommandSpec<S, Ctx>>();

  constructor(specs: ReadonlyArray<CommandSpec<S, Ctx>>, aliases: Record<string, string> = {}) {
    for (const s of specs) this.byName.set(s.name.toUpperCase(), s);
    for (const [alias, target] of Object.entries(aliases)) {
      const spec = this.byName.get(target.toUpperCase());
      if (spec) this.byName.set(alias.toUpperCase(), spec);
    }
  }

  get(name: string): CommandSpec<S, Ctx> | undefined {
    return this.byName.get(name.toUpperCase());
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Splits "NAME arg arg" on single spaces and checks state and argument count. */
  lookup(line: string, state: S): Lookup<S, Ctx> {
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const spec = this.byName.get(name);
    if (!spec) return { kind: 'unknown', name };
    if (!spec.states.includes(state)) return { kind: 'wrong-state', spec };
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const args = rest.length === 0 ? [] : rest.split(' ');
    if ((spec.minArgs !== undefined && args.length < spec.minArgs) || (spec.maxArgs !== undefined && args.length > spec.maxArgs)) {
      return { kind: 'bad-args', spec };
    }
    return { kind: 'ok', spec, args };
  }
}

export interface LineSessionOptions {
  /** After this many bad commands the session is ended (the protocol's goodbye is sent first). */
  maxBadCommands: number;
}

export abstract class LineSession {
  badCommands = 0;

  constructor(
    readonly conn: Connection,
    protected readonly events: EventBus,
    readonly options: LineSessionOptions,
  ) {}

  get id(): string {
    return this.conn.id;
  }

  get service(): string {
    return this.conn.service;
  }

  /** Sends one reply line (CRLF added) and publishes it as a reply event. */
  send(line: string): void {
    this.conn.write(`${line}\r\n`);
    if (this.events.active) this.events.publish({ type: 'reply', service: this.service, session: this.id, text: line });
  }

  /** Sends several lines at once (one write), publishing them as one reply event. */
  sendLines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = lines.join('\r\n');
    this.conn.write(`${text}\r\n`);
    if (this.events.active) this.events.publish({ type: 'reply', service: this.service, session: this.id, text });
  }

  /** Sends raw octets (message bodies, literals); the event shows `summary` instead of the data. */
  sendData(data: Buffer | string, summary: string): void {
    this.conn.write(data);
    if (this.events.active) {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      this.events.publish({ type: 'reply', service: this.service, session: this.id, text: summary, bytes });
    }
  }

  /** Publishes a received command; `text` must already be redacted. */
  commandEvent(text: string, name?: string): void {
    if (this.events.active) this.events.publish({ type: 'command', service: this.service, session: this.id, text, ...(name ? { name } : {}) });
  }

  /**
   * Publishes a login attempt (never the secret). Called right after the password check, before any
   * later step (a maildrop lock, a session limit) decides whether the session really logs in.
   */
  authEvent(user: string, ok: boolean, mechanism: string): void {
    if (this.events.active) this.events.publish({ type: 'auth', service: this.service, session: this.id, user: user.slice(0, 64), ok, mechanism });
  }

  /** Counts a bad command; true when the session has had too many and must end. */
  countBad(): boolean {
    this.badCommands++;
    return this.badCommands >= this.options.maxBadCommands;
  }

  /** STARTTLS in place; pipelined plaintext is discarded (see Connection.upgradeTls). */
  async upgradeTls(options: TlsUpgradeOptions): Promise<void> {
    const { discarded } = await this.conn.upgradeTls(options);
    if (this.events.active) {
      this.events.publish({ type: 'tls', service: this.service, session: this.id, step: 'starttls-complete', detail: { discardedPlaintextOctets: discarded } });
    }
  }
}
