// One SMTP session (RFC 5321): greeting, the command loop with the declared states, the one reply
// path (enhanced status codes from replies.ts), the transaction, and delivery into the mail store.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Accounts } from '../../core/auth.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { FramerError } from '../../core/line-framer.js';
import { LineSession } from '../../core/line-session.js';
import type { DeliveryTarget, MailStore } from '../../core/mail-store/index.js';
import type { Mailbox } from './address.js';
import { SMTP_COMMANDS } from './commands/index.js';
import type { CrlfNormalizer } from './crlf-normalizer.js';
import type { SmtpConfig } from './config.js';
import { LIMITS, maxCommandLine } from './limits.js';
import type { Recipient, RecipientPolicy } from './policy.js';
import { formatReply } from './replies.js';
import { traceHeader, withProtocol } from './trace.js';

/** init: before HELO/EHLO; ready: greeted, no transaction; mail: after MAIL; rcpt: at least one RCPT. */
export type SmtpState = 'init' | 'ready' | 'mail' | 'rcpt';

/**
 * The STARTTLS hook for the TLS service: when present, EHLO advertises STARTTLS (while the session is
 * plain) and commands/starttls.ts calls `upgrade`, then resets the session (RFC 3207 section 4.2).
 */
export interface StartTlsHook {
  available(session: SmtpSession): boolean;
  upgrade(session: SmtpSession): Promise<void>;
}

export interface SmtpContext {
  config: SmtpConfig;
  hostname: string;
  domain: string;
  accounts: Accounts;
  store: MailStore;
  policy: RecipientPolicy;
  events: EventBus;
  logger: Logger;
  stats: SmtpStats;
  starttls?: StartTlsHook;
  /** tls.requireTlsForAuth: AUTH is neither offered nor accepted before TLS. */
  requireTlsForAuth?: boolean;
}

export interface SmtpStats {
  messages: number;
  recipients: number;
  rejectedRecipients: number;
  authFailures: number;
}

export interface Transaction {
  /** null for the null reverse-path <>. */
  from: Mailbox | null;
  smtputf8: boolean;
  body: '7BIT' | '8BITMIME';
  recipients: Recipient[];
  /** BDAT in progress: content received so far. */
  bdat?: { chunks: Buffer[]; size: number; overflow: boolean; normalizer: CrlfNormalizer };
}

export class SmtpSession extends LineSession {
  state: SmtpState = 'init';
  helo = '';
  esmtp = false;
  /** Canonical user after a successful AUTH. */
  user: string | undefined;
  authFailures = 0;
  tx: Transaction | undefined;
  /** Set by QUIT or a fatal error: the loop ends after the current reply. */
  ending = false;
  private corked = false;
  private sawFirstCommand = false;
  private tlsProbe = false;

  constructor(
    conn: Connection,
    readonly ctx: SmtpContext,
    /** This listener is the submission port (RFC 6409): AUTH before MAIL. */
    readonly submission: boolean,
  ) {
    super(conn, ctx.events, { maxBadCommands: LIMITS.badCommands });
  }

  get config(): SmtpConfig {
    return this.ctx.config;
  }

  get hostname(): string {
    return this.ctx.hostname;
  }

  /** The one reply path: code, text line(s), enhanced code (default from the table; null for none). */
  reply(code: number, text: string | readonly string[], enhanced?: string | null): void {
    if (!this.corked && !this.conn.closed) {
      this.conn.socket.cork();
      this.corked = true;
    }
    const lines = formatReply(code, typeof text === 'string' ? [text] : text, enhanced);
    if (lines.length === 1) this.send(lines[0]);
    else this.sendLines(lines);
  }

  /** Sends what the reply path has corked (before a TLS handshake or a long wait). */
  flush(): void {
    if (this.corked) {
      this.corked = false;
      this.conn.socket.uncork();
    }
  }

  /** Counts a bad command; ends the session with 421 when there were too many. */
  bad(): void {
    if (this.countBad()) {
      this.reply(421, `${this.hostname} Error: too many errors`, '4.7.0');
      this.ending = true;
    }
  }

  resetTransaction(): void {
    this.tx = undefined;
    if (this.state === 'mail' || this.state === 'rcpt') this.state = 'ready';
  }

  /** Reads one line for a multi-step exchange (AUTH); null at end of input. Over-long lines throw FramerError. */
  readContinuation(): Promise<Buffer | null> {
    this.flush();
    return this.conn.readCommandLine(LIMITS.authLine);
  }

  async run(): Promise<void> {
    // A TLS client on the plain port sends a ClientHello (0x16 0x03 ...) at once; tell it plainly.
    const probe = (chunk: Buffer): void => {
      if (chunk.length >= 2 && chunk[0] === 0x16 && chunk[1] === 0x03 && !this.sawFirstCommand) {
        // No line feed may ever come: answer now instead of waiting for a command line.
        this.tlsProbe = true;
        this.rejectTls();
        this.conn.close('TLS ClientHello on a plain port');
      }
    };
    this.conn.socket.once('data', probe);
    this.conn.setIdleTimeout(this.config.commandTimeoutMs);
    this.reply(220, `${this.hostname} ESMTP labnet`, null);
    try {
      while (!this.ending && !this.conn.closed) {
        if (this.conn.closing) {
          // Shutdown while this session was busy: finish the command, then say goodbye (RFC 5321 3.8).
          this.reply(421, `${this.hostname} Service shutting down`, '4.3.2');
          break;
        }
        // Replies to pipelined commands go out in one write (RFC 2920 section 3.1), but never wait
        // while the session itself waits: if no complete line is buffered, flush right away.
        if (this.conn.framer.buffered === 0) this.flush();
        else if (this.corked) setImmediate(() => this.flush());
        let line: Buffer | null;
        try {
          line = await this.conn.readCommandLine(LIMITS.authLine);
        } catch (err) {
          if (!(err instanceof FramerError)) throw err;
          if (this.tlsProbe) return;
          this.commandEvent('<line too long>');
          this.reply(500, 'Line too long', '5.5.2');
          this.bad();
          continue;
        }
        if (line === null || this.tlsProbe) break;
        await this.dispatch(line);
      }
    } finally {
      this.conn.socket.off('data', probe);
      this.flush();
    }
  }

  private rejectTls(): void {
    this.commandEvent('<TLS ClientHello on the plain SMTP port>');
    this.reply(421, `${this.hostname} TLS handshake received on a plain SMTP port: connect without TLS and use STARTTLS, or use the SMTPS port`, '4.7.0');
    this.flush();
    this.ending = true;
    if (this.events.active)
      this.events.publish({
        type: 'notice',
        service: this.service,
        session: this.id,
        level: 'warn',
        message: 'a TLS ClientHello arrived on the plain SMTP port',
      });
  }

  private async dispatch(raw: Buffer): Promise<void> {
    const line = raw.toString('utf8');
    const first = !this.sawFirstCommand;
    this.sawFirstCommand = true;
    if (first && /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH) \S+ HTTP\/\d/.test(line)) {
      this.commandEvent(line.slice(0, 200), 'HTTP');
      this.reply(554, `${this.hostname} This is an SMTP server, not a web server: HTTP requests are not served on this port`, '5.7.0');
      this.ending = true;
      return;
    }
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const spec = SMTP_COMMANDS.get(name);
    if (raw.length + 2 > maxCommandLine(spec ? spec.name : name)) {
      this.commandEvent(spec?.redact ? spec.redact(line) : `${line.slice(0, 100)}...`, spec?.name);
      this.reply(500, 'Line too long', '5.5.2');
      this.bad();
      return;
    }
    const lookup = SMTP_COMMANDS.lookup(line, this.state);
    if (lookup.kind === 'unknown') {
      this.commandEvent(line.slice(0, 200));
      this.reply(500, 'Error: command not recognized', '5.5.2');
      this.bad();
      return;
    }
    const cmd = lookup.spec;
    this.commandEvent(cmd.redact ? cmd.redact(line) : line, cmd.name);
    if (lookup.kind === 'wrong-state') {
      this.reply(503, this.sequenceHint(cmd.name), '5.5.1');
      this.bad();
      return;
    }
    if (lookup.kind === 'bad-args') {
      this.reply(501, `Syntax: ${SYNTAX[cmd.name] ?? cmd.name}`, '5.5.4');
      this.bad();
      return;
    }
    await cmd.handler(this, lookup.args, line);
  }

  private sequenceHint(name: string): string {
    if (this.state === 'init') return 'Error: send HELO/EHLO first';
    if (name === 'MAIL') return 'Error: nested MAIL command';
    if (name === 'RCPT') return 'Error: need MAIL command';
    if (name === 'DATA' || name === 'BDAT') return this.state === 'ready' ? 'Error: need MAIL command' : 'Error: need RCPT command';
    return 'Error: bad sequence of commands';
  }

  /** Switches the idle timeout while message data is read (RFC 5321 section 4.5.3.2.5). */
  withDataTimeout<T>(fn: () => Promise<T>): Promise<T> {
    this.flush();
    this.conn.setIdleTimeout(this.config.dataTimeoutMs);
    return fn().finally(() => {
      if (!this.conn.closed) this.conn.setIdleTimeout(this.config.commandTimeoutMs);
    });
  }

  /** Delivers the transaction's message durably, then answers 250 (or 451 if the store failed). */
  async deliver(content: Buffer[], size: number): Promise<void> {
    const tx = this.tx!;
    const queueId = randomBytes(6).toString('hex').toUpperCase();
    const reversePath = tx.from?.address ?? '';
    const header = traceHeader({
      reversePath,
      helo: this.helo,
      clientAddress: this.conn.peer.address,
      hostname: this.hostname,
      protocol: withProtocol({ esmtp: this.esmtp, tls: this.conn.isTls, auth: this.user !== undefined, utf8: tx.smtputf8 }),
      queueId,
      recipients: tx.recipients.map((r) => r.address),
      date: new Date(),
    });
    const local: DeliveryTarget[] = [];
    const relayed: string[] = [];
    for (const r of tx.recipients) {
      if (r.kind === 'local') local.push({ user: r.user });
      else relayed.push(r.address);
    }
    const catchAll = this.config.catchAllMailbox;
    try {
      const jobs: Array<Promise<unknown>> = [];
      if (local.length > 0) jobs.push(this.ctx.store.deliver([Buffer.from(header), ...content], local));
      if (relayed.length > 0) {
        // What would have left the lab: the envelope recipients are recorded for the student to see.
        const note = `X-Labnet-Captured-For: ${relayed.map((a) => `<${a}>`).join(',\r\n\t')}\r\n`;
        jobs.push(this.ctx.store.deliver([Buffer.from(header + note), ...content], [{ user: catchAll }]));
      }
      await Promise.all(jobs);
    } catch (err) {
      this.ctx.logger.error({ err, session: this.id }, 'delivery failed');
      this.reply(451, 'Error: local delivery failed, try again later', '4.3.0');
      this.resetTransaction();
      return;
    }
    this.ctx.stats.messages++;
    this.ctx.stats.recipients += tx.recipients.length;
    if (this.events.active) {
      this.events.publish({
        type: 'notice',
        service: this.service,
        session: this.id,
        level: 'info',
        message: `message ${queueId} delivered`,
        detail: { queueId, size, from: reversePath, to: tx.recipients.map((r) => r.address), captured: relayed.length },
      });
    }
    this.resetTransaction();
    this.reply(250, `Ok: queued as ${queueId}`, '2.0.0');
  }
}

const SYNTAX: Record<string, string> = {
  HELO: 'HELO hostname',
  EHLO: 'EHLO hostname',
  MAIL: 'MAIL FROM:<address>',
  RCPT: 'RCPT TO:<address>',
  DATA: 'DATA',
  BDAT: 'BDAT size [LAST]',
  RSET: 'RSET',
  QUIT: 'QUIT',
  VRFY: 'VRFY address',
  AUTH: 'AUTH mechanism [initial-response]',
  STARTTLS: 'STARTTLS',
};
