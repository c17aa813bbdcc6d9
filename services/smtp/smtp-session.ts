// One SMTP session (RFC 5321) on the line-session base: the greeting, SMTP's command grammar and its
// answers to unknown commands, wrong states and bad arguments, the one reply path (replies.ts), the
// transaction, and delivery into the mail store. The loop, the batching of pipelined replies
// (RFC 2920), continuation reads and STARTTLS are the base's.
import { redactUnknown } from '../../core/redact.js';
import type { Logger } from 'pino';
import type { Accounts } from '../../core/auth.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { LineSession, type CommandSpec, type Interceptor, type ParsedCommand, type TlsPolicy } from '../../core/line-session/index.js';
import type { DeliveryTarget, MailStore } from '../../core/mail-store/index.js';
import type { Mailbox } from './address.js';
import { SMTP_COMMANDS } from './commands/index.js';
import type { CrlfNormalizer } from './crlf-normalizer.js';
import type { SmtpConfig } from './config.js';
import { LIMITS, maxCommandLine } from './limits.js';
import { newQueueId } from './queue-id.js';
import type { Recipient, RecipientPolicy } from './policy.js';
import { formatReply, REPLY, type SmtpReply } from './replies.js';
import { traceHeader, withProtocol } from './trace.js';

/** init: before HELO/EHLO; ready: greeted, no transaction; mail: after MAIL; rcpt: at least one RCPT. */
export type SmtpState = 'init' | 'ready' | 'mail' | 'rcpt';

/** A command's handler: the words after the name, and the whole line (MAIL and RCPT parse it). */
export type SmtpHandler = (s: SmtpSession, args: string[], line: string) => void | Promise<void>;
export type SmtpCommand = CommandSpec<SmtpState, SmtpHandler>;

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
  /** STARTTLS offered or not, TLS before AUTH (tls.requireTlsForAuth). */
  tls: TlsPolicy;
  /** Fault injection (tests); see core/line-session/interceptor.ts. */
  interceptor?: Interceptor;
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

interface SmtpParsed extends ParsedCommand {
  args: string[];
}

const HTTP_REQUEST = /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH) \S+ HTTP\/\d/;

export class SmtpSession extends LineSession<SmtpState, SmtpCommand, SmtpParsed> {
  state: SmtpState = 'init';
  helo = '';
  esmtp = false;
  /** Canonical user after a successful AUTH. */
  user: string | undefined;
  authFailures = 0;
  tx: Transaction | undefined;
  private sawFirstInput = false;
  private sawFirstCommand = false;

  constructor(
    conn: Connection,
    readonly ctx: SmtpContext,
    /** This listener is the submission port (RFC 6409): AUTH before MAIL. */
    readonly submission: boolean,
  ) {
    super(conn, ctx.events, { maxBadCommands: LIMITS.badCommands, maxCommandLine: LIMITS.authLine, tls: ctx.tls, interceptor: ctx.interceptor }, SMTP_COMMANDS);
  }

  get config(): SmtpConfig {
    return this.ctx.config;
  }

  get hostname(): string {
    return this.ctx.hostname;
  }

  /** The one reply path: every reply is a named entry of replies.ts. */
  reply(r: SmtpReply): void {
    const lines = formatReply(r);
    if (lines.length === 1) this.send(lines[0]);
    else this.sendLines(lines);
  }

  /** Counts a bad command; ends the session with 421 when there were too many. */
  bad(): void {
    if (this.countBad()) {
      this.reply(REPLY.tooManyErrors(this.hostname));
      this.ending = true;
    }
  }

  resetTransaction(): void {
    this.tx = undefined;
    if (this.state === 'mail' || this.state === 'rcpt') this.state = 'ready';
  }

  protected greet(): void {
    this.conn.setIdleTimeout(this.config.commandTimeoutMs);
    this.reply(REPLY.greeting(this.hostname));
  }

  protected override readCommand(): Promise<Buffer | null> {
    return this.sawFirstInput ? this.readCommandLine() : this.readFirstCommand();
  }

  /** A TLS client on the plain port sends a ClientHello (0x16 0x03 ...) at once, and no line feed may ever come: answer it plainly now. */
  private async readFirstCommand(): Promise<Buffer | null> {
    this.sawFirstInput = true;
    const head = await this.peekInput();
    if (head === null) return null;
    if (head.length >= 2 && head[0] === 0x16 && head[1] === 0x03) {
      this.rejectTls();
      return null;
    }
    return this.readCommandLine();
  }

  private rejectTls(): void {
    this.commandEvent('<TLS ClientHello on the plain SMTP port>');
    this.reply(REPLY.tlsOnPlainPort(this.hostname));
    this.flush();
    this.ending = true;
    this.notice('warn', 'a TLS ClientHello arrived on the plain SMTP port');
    this.conn.close('TLS ClientHello on a plain port');
  }

  protected parse(raw: Buffer): SmtpParsed | undefined {
    const line = raw.toString('utf8');
    if (!this.sawFirstCommand) {
      this.sawFirstCommand = true;
      if (HTTP_REQUEST.test(line)) {
        this.commandEvent(line.slice(0, 200), 'HTTP');
        this.reply(REPLY.httpOnSmtpPort(this.hostname));
        this.ending = true;
        return undefined;
      }
    }
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    // Each command has its own line limit (RFC 5321 section 4.5.3.1.4; longer for MAIL, RCPT, AUTH).
    if (raw.length + 2 > maxCommandLine(name)) {
      const spec = this.commands.get(name);
      this.commandEvent(spec?.redact ? spec.redact(line) : redactUnknown(line.slice(0, 200)), spec?.name);
      this.reply(REPLY.lineTooLong);
      this.bad();
      return undefined;
    }
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const args = rest.length === 0 ? [] : rest.split(' ');
    return { name, argCount: args.length, line, args };
  }

  protected execute(cmd: SmtpParsed, spec: SmtpCommand): void | Promise<void> {
    return spec.handler(this, cmd.args, cmd.line);
  }

  protected onUnknown(): void {
    this.reply(REPLY.unknownCommand);
    this.bad();
  }

  protected onWrongState(_cmd: SmtpParsed, spec: SmtpCommand): void {
    this.reply(this.sequenceHint(spec.name));
    this.bad();
  }

  protected onBadArgs(_cmd: SmtpParsed, spec: SmtpCommand): void {
    this.reply(REPLY.syntax(spec.name));
    this.bad();
  }

  protected onTlsRequired(): void {
    this.reply(REPLY.tlsRequiredForAuth);
  }

  protected onLineTooLong(): void {
    this.commandEvent('<line too long>');
    this.reply(REPLY.lineTooLong);
    this.bad();
  }

  protected onShutdown(): void {
    // RFC 5321 section 3.8: a server that must close says 421 first.
    this.reply(REPLY.shuttingDown(this.hostname));
  }

  /** RFC 3207 section 4.2: after the handshake the client starts over (greeting, AUTH, transaction). */
  protected override onTlsStarted(): void {
    this.state = 'init';
    this.helo = '';
    this.esmtp = false;
    this.user = undefined;
    this.tx = undefined;
  }

  /** The 503 for a command sent in the wrong state, saying what is missing. */
  sequenceHint(name: string): SmtpReply {
    if (this.state === 'init') return REPLY.sendHeloFirst;
    if (name === 'MAIL') return REPLY.nestedMail;
    if (name === 'RCPT') return REPLY.needMail;
    if (name === 'DATA' || name === 'BDAT') return this.state === 'ready' ? REPLY.needMail : REPLY.needRcpt;
    return REPLY.badSequence;
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
  async deliver(content: Buffer[], size: number, via: 'DATA' | 'BDAT'): Promise<void> {
    if (this.options.interceptor !== undefined && (await this.intercept({ kind: 'message', name: via, size }))) {
      this.resetTransaction();
      return;
    }
    const tx = this.tx!;
    const queueId = newQueueId();
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
      // One store call for both copies: all or nothing, so a failure (the catch-all's quota, a full
      // disk) never leaves the local recipients' copy behind a 4xx/5xx that makes the client resend.
      const parts: Array<{ content: Buffer[]; targets: DeliveryTarget[] }> = [];
      if (local.length > 0) parts.push({ content: [Buffer.from(header), ...content], targets: local });
      if (relayed.length > 0) {
        // What would have left the lab: the envelope recipients are recorded for the student to see.
        const note = `X-Labnet-Captured-For: ${relayed.map((a) => `<${a}>`).join(',\r\n\t')}\r\n`;
        parts.push({ content: [Buffer.from(header + note), ...content], targets: [{ user: catchAll }] });
      }
      await this.ctx.store.deliverEach(parts);
    } catch (err) {
      // The store's error code picks the reply (RFC 5321 section 4.2.2 452/552, RFC 3463 codes); its
      // message never carries a path, but the reply says only what the client can act on.
      const code = (err as { code?: unknown }).code;
      const maxBytes = this.ctx.store.quotaLimits.maxBytes;
      if (code === 'OVER_QUOTA') this.reply(maxBytes > 0 && size > maxBytes ? REPLY.messageOverQuota : REPLY.mailboxFull);
      else if (code === 'NO_SPACE') this.reply(REPLY.insufficientStorage);
      else {
        this.ctx.logger.error({ err, session: this.id }, 'delivery failed');
        this.reply(REPLY.deliveryFailed);
      }
      if (code === 'OVER_QUOTA' || code === 'NO_SPACE') this.notice('warn', `message not delivered: ${err instanceof Error ? err.message : String(err)}`);
      this.resetTransaction();
      return;
    }
    this.ctx.stats.messages++;
    this.ctx.stats.recipients += tx.recipients.length;
    if (this.events.active)
      this.notice('info', `message ${queueId} delivered`, {
        queueId,
        size,
        from: reversePath,
        to: tx.recipients.map((r) => r.address),
        captured: relayed.length,
      });
    this.resetTransaction();
    this.reply(REPLY.queued(queueId));
  }
}
