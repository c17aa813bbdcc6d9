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
import type { ListenerInfo, Service, ServiceState, ServiceStatus } from '../../core/service.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TOKENS } from '../../core/tokens.js';
import type { SmtpConfig } from './config.js';
import { LIMITS } from './limits.js';
import { RecipientPolicy } from './policy.js';
import { SmtpSession, type SmtpContext, type SmtpStats, type StartTlsHook } from './smtp-session.js';

@injectable()
export class SmtpService implements Service {
  readonly name = 'smtp';
  private readonly config: SmtpConfig;
  private readonly servers: TcpServer[] = [];
  private state: ServiceState = 'stopped';
  private readonly stats: SmtpStats = { messages: 0, recipients: 0, rejectedRecipients: 0, authFailures: 0 };
  private readonly ctx: SmtpContext;

  constructor(
    @inject(TOKENS.Config) private readonly lab: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) events: EventBus,
    @inject(TOKENS.Accounts) accounts: Accounts,
    @inject(TOKENS.MailStore) private readonly store: MailStore,
    @inject(TOKENS.Logger) logger: Logger,
  ) {
    this.config = serviceConfig<SmtpConfig>(lab, 'smtp');
    const policy = new RecipientPolicy(
      { domain: lab.domain, hostname: lab.hostname, catchAllMailbox: this.config.catchAllMailbox, autoCreateMailboxes: this.config.autoCreateMailboxes },
      accounts,
    );
    this.ctx = { config: this.config, hostname: lab.hostname, domain: lab.domain, accounts, store, policy, events, logger: logger.child({ service: 'smtp' }), stats: this.stats };
  }

  /** Installed by the TLS service: EHLO then offers STARTTLS and the command upgrades the session. */
  setStartTls(hook: StartTlsHook | undefined): void {
    this.ctx.starttls = hook;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const host = this.lab.hostname;
    const listen = (label: string, port: number, submission: boolean): Promise<TcpServer> =>
      this.net.listenTcp({
        service: 'smtp',
        label,
        port,
        maxLineLength: LIMITS.authLine,
        idleTimeoutMs: this.config.commandTimeoutMs,
        handler: (conn) => new SmtpSession(conn, this.ctx, submission).run(),
        idleReply: () => `421 4.4.2 ${host} Error: timeout exceeded\r\n`,
        shutdownReply: () => `421 4.3.2 ${host} Service shutting down\r\n`,
        busyReply: () => `421 4.7.0 ${host} Error: too many connections, try again later\r\n`,
        errorReply: () => `421 4.3.0 ${host} Error: internal error, closing connection\r\n`,
      });
    try {
      this.servers.push(await listen('smtp', this.lab.services.smtp!.port, false));
      if (this.config.submission) this.servers.push(await listen('submission', this.config.submissionPort, true));
    } catch (err) {
      await Promise.all(this.servers.map((s) => s.close(0)));
      this.servers.length = 0;
      this.state = 'failed';
      throw err;
    }
    this.state = 'running';
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    this.state = 'stopping';
    await Promise.all(this.servers.map((s) => s.close(options.timeoutMs)));
    this.state = 'stopped';
  }

  listeners(): ListenerInfo[] {
    return this.servers.map((s) => ({ name: s.label, protocol: 'tcp' as const, address: s.address, port: s.port }));
  }

  status(): ServiceStatus {
    let connections = 0;
    let accepted = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    for (const s of this.servers) {
      const st = s.stats();
      connections += st.open;
      accepted += st.accepted;
      bytesIn += st.bytesIn;
      bytesOut += st.bytesOut;
    }
    return {
      name: this.name,
      state: this.state,
      listeners: this.listeners(),
      connections,
      accepted,
      bytesIn,
      bytesOut,
      detail: { ...this.stats, store: this.store.stats() },
    };
  }
}
