// The SMTP service: port 25 (MX-style, for mail to lab users) and the submission port 587 (RFC 6409,
// AUTH required). Sessions are plain objects (smtp-session.ts) built around each connection.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { Accounts } from '../../core/auth.js';
import { serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { EventBus } from '../../core/events.js';
import type { MailStore } from '../../core/mail-store/index.js';
import type { NetHost } from '../../core/net-host.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TcpService } from '../../core/tcp-service.js';
import { TOKENS } from '../../core/tokens.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import type { SmtpConfig } from './config.js';
import { LIMITS } from './limits.js';
import { RecipientPolicy } from './policy.js';
import { SmtpSession, type SmtpContext, type SmtpStats, type StartTlsHook } from './smtp-session.js';

/**
 * ALPN id this service answers to (RFC 7301). "smtp" is not in the IANA registry; what matters is that
 * a client asking for another protocol (http/1.1, imap...) is refused.
 */
const SMTP_ALPN = ['smtp'] as const;

@injectable()
export class SmtpService extends TcpService {
  readonly name = 'smtp';
  private readonly config: SmtpConfig;
  private readonly stats: SmtpStats = { messages: 0, recipients: 0, rejectedRecipients: 0, authFailures: 0 };
  private readonly ctx: SmtpContext;

  constructor(
    @inject(TOKENS.Config) private readonly lab: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) events: EventBus,
    @inject(TOKENS.Accounts) accounts: Accounts,
    @inject(TOKENS.MailStore) private readonly store: MailStore,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.Tls) private readonly tls: TlsMaterial,
  ) {
    super();
    this.config = serviceConfig<SmtpConfig>(lab, 'smtp');
    const policy = new RecipientPolicy(
      { domain: lab.domain, hostname: lab.hostname, catchAllMailbox: this.config.catchAllMailbox, autoCreateMailboxes: this.config.autoCreateMailboxes },
      accounts,
    );
    this.ctx = {
      config: this.config,
      hostname: lab.hostname,
      domain: lab.domain,
      accounts,
      store,
      policy,
      events,
      logger: logger.child({ service: 'smtp' }),
      stats: this.stats,
      requireTlsForAuth: tls.requireTlsForAuth,
    };
    // STARTTLS (RFC 3207) with the lab certificate; the ALPN guard refuses a client asking for
    // another protocol (ALPACA). Pipelined plaintext is discarded by the core upgrade.
    this.setStartTls({
      available: (s) => !s.conn.isTls,
      upgrade: (s) => s.upgradeTls(tls.upgradeOptions(SMTP_ALPN)),
    });
  }

  /** Installed by the TLS service: EHLO then offers STARTTLS and the command upgrades the session. */
  setStartTls(hook: StartTlsHook | undefined): void {
    this.ctx.starttls = hook;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const host = this.lab.hostname;
    const listen = (label: string, port: number, submission: boolean, implicitTls = false): Promise<TcpServer> =>
      this.net.listenTcp({
        service: 'smtp',
        label,
        port,
        ...(implicitTls ? { tls: this.tls.listenerTls({ service: 'smtp', label, alpn: SMTP_ALPN }) } : {}),
        maxLineLength: LIMITS.authLine,
        idleTimeoutMs: this.config.commandTimeoutMs,
        handler: (conn) => new SmtpSession(conn, this.ctx, submission).run(),
        idleReply: () => `421 4.4.2 ${host} Error: timeout exceeded\r\n`,
        shutdownReply: () => `421 4.3.2 ${host} Service shutting down\r\n`,
        busyReply: () => `421 4.7.0 ${host} Error: too many connections, try again later\r\n`,
        errorReply: () => `421 4.3.0 ${host} Error: internal error, closing connection\r\n`,
      });
    await this.openListeners([
      () => listen('smtp', this.lab.services.smtp.port, false),
      this.config.submission && (() => listen('submission', this.config.submissionPort, true)),
      this.config.smtps && (() => listen('smtps', this.config.smtpsPort, true, true)),
    ]);
  }

  protected override detail(): Record<string, unknown> {
    return { ...this.stats, store: this.store.stats() };
  }
}
