// The SMTP service: port 25 (MX-style, for mail to lab users) and the submission port 587 (RFC 6409,
// AUTH required). Sessions are plain objects (smtp-session.ts) built around each connection.
import 'reflect-metadata';
import { inject, injectable, optional } from 'inversify';
import type { Logger } from 'pino';
import type { Accounts } from '../../core/auth.js';
import { serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { EventBus } from '../../core/events.js';
import type { FaultInjector } from '../../core/faults/index.js';
import { connectionReplies, TlsPolicy } from '../../core/line-session/index.js';
import type { MailStore } from '../../core/mail-store/index.js';
import type { NetHost } from '../../core/net-host.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TcpService } from '../../core/tcp-service.js';
import { TOKENS } from '../../core/tokens.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import type { SmtpConfig } from './config.js';
import { LIMITS } from './limits.js';
import { RecipientPolicy } from './policy.js';
import { REPLY, replyLine } from './replies.js';
import { SmtpSession, type SmtpContext, type SmtpStats } from './smtp-session.js';

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
  private readonly tlsPolicy: TlsPolicy;

  constructor(
    @inject(TOKENS.Config) private readonly lab: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) events: EventBus,
    @inject(TOKENS.Accounts) accounts: Accounts,
    @inject(TOKENS.MailStore) private readonly store: MailStore,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.Tls) tls: TlsMaterial,
    @inject(TOKENS.Faults) @optional() faults?: FaultInjector,
  ) {
    super();
    this.config = serviceConfig<SmtpConfig>(lab, 'smtp');
    const policy = new RecipientPolicy(
      { domain: lab.domain, hostname: lab.hostname, catchAllMailbox: this.config.catchAllMailbox, autoCreateMailboxes: this.config.autoCreateMailboxes },
      accounts,
    );
    // STARTTLS (RFC 3207) and SMTPS with the lab certificate; the ALPN guard refuses a client asking
    // for another protocol (ALPACA).
    this.tlsPolicy = TlsPolicy.forMail(lab, tls, 'smtp', SMTP_ALPN);
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
      tls: this.tlsPolicy,
      interceptor: faults?.interceptor,
    };
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const host = this.lab.hostname;
    const replies = connectionReplies(this.ctx.events, 'smtp', {
      idle: () => replyLine(REPLY.idleTimeout(host)),
      shutdown: () => replyLine(REPLY.shuttingDown(host)),
      busy: () => replyLine(REPLY.tooBusy(host)),
      error: () => replyLine(REPLY.internalError(host)),
    });
    const listen = (label: string, port: number, submission: boolean, implicitTls = false): Promise<TcpServer> =>
      this.net.listenTcp({
        service: 'smtp',
        label,
        port,
        ...(implicitTls ? { tls: this.tlsPolicy.implicitListener(label) } : {}),
        maxLineLength: LIMITS.authLine,
        idleTimeoutMs: this.config.commandTimeoutMs,
        handler: (conn) => new SmtpSession(conn, this.ctx, submission).run(),
        ...replies,
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
