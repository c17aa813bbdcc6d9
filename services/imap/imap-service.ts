// The IMAP service (RFC 3501 IMAP4rev1, port 143): a TCP listener whose sessions run over the shared
// mail store, with STARTTLS on 143 and implicit TLS on 993 (the lab certificate, TOKENS.Tls).
import 'reflect-metadata';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import type { Accounts } from '../../core/auth.js';
import { portSchema, serviceBaseSchema, serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { EventBus } from '../../core/events.js';
import type { FaultInjector } from '../../core/faults/index.js';
import { connectionReplies, TlsPolicy } from '../../core/line-session/index.js';
import type { MailStore } from '../../core/mail-store/index.js';
import type { NetHost } from '../../core/net-host.js';
import type { ServiceModule } from '../../core/service.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TcpService } from '../../core/tcp-service.js';
import { TOKENS } from '../../core/tokens.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import { imapCommandTable } from './commands/registry.js';
import { ImapSession, type ImapShared } from './imap-session.js';
import { MailboxListHub } from './notify.js';
import { IMAP_LIMITS } from './limits.js';
import { MailStoreAdapter } from './store-adapter.js';

export const imapConfigSchema = serviceBaseSchema({ enabled: true, port: 143 }).extend({
  /** Largest message APPEND accepts (APPENDLIMIT, RFC 7889), octets. */
  appendLimit: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(50 * 1024 * 1024),
  /** Concurrent authenticated sessions per user (Thunderbird alone opens up to 5). */
  maxSessionsPerUser: z.number().int().min(1).max(100_000).default(50),
  /**
   * Of those, at most this many from one client address (issue 14: one student cannot fill a shared
   * account's limit for everyone). 0: four fifths of maxSessionsPerUser, so the last fifth always
   * stays open to other addresses. Dovecot's equivalent is mail_max_userip_connections (10).
   */
  maxSessionsPerUserAndAddress: z.number().int().min(0).max(100_000).default(0),
  /** Autologout after this much inactivity once logged in (RFC 3501 section 5.4: at least 30 minutes). */
  autologoutMs: z.number().int().min(1000).default(IMAP_LIMITS.autologoutMs),
  /** Inactivity allowed before logging in. */
  preAuthTimeoutMs: z.number().int().min(1000).default(IMAP_LIMITS.preAuthTimeoutMs),
  /** IMAP over implicit TLS (RFC 8314 section 3.3) on imapsPort. Port 143 offers STARTTLS. */
  imaps: z.boolean().default(true),
  imapsPort: portSchema.default(993),
});

/** ALPN id this service answers to (RFC 7301; IANA registry, RFC 2595). */
const IMAP_ALPN = ['imap'] as const;

export type ImapConfig = z.infer<typeof imapConfigSchema>;

@injectable()
export class ImapService extends TcpService {
  readonly name = 'imap';
  private readonly cfg: ImapConfig;
  private readonly shared: ImapShared;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) events: EventBus,
    @inject(TOKENS.Accounts) accounts: Accounts,
    @inject(TOKENS.MailStore) store: MailStore,
    @inject(TOKENS.Tls) tls: TlsMaterial,
    @inject(TOKENS.Faults) @optional() faults?: FaultInjector,
  ) {
    super();
    this.cfg = serviceConfig<ImapConfig>(config, 'imap');
    this.shared = {
      store: new MailStoreAdapter(store),
      accounts,
      events,
      hostname: config.hostname,
      config: this.cfg,
      commands: imapCommandTable(),
      sessionsPerUser: new Map(),
      mailboxList: new MailboxListHub(),
      // STARTTLS on 143 and IMAPS on 993 with the lab certificate; LOGINDISABLED before TLS if configured.
      tls: TlsPolicy.forMail(config, tls, 'imap', IMAP_ALPN),
      interceptor: faults?.interceptor,
    };
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const replies = connectionReplies(this.shared.events, 'imap', {
      busy: () => '* BYE Too many connections, try again later',
      error: () => '* BYE Internal server error',
      idle: () => '* BYE Autologout; idle for too long',
      shutdown: () => '* BYE Server shutting down',
    });
    const listen = (label: string, port: number, implicitTls: boolean): Promise<TcpServer> =>
      this.net.listenTcp({
        service: 'imap',
        label,
        port,
        ...(implicitTls ? { tls: this.shared.tls.implicitListener(label) } : {}),
        idleTimeoutMs: this.cfg.preAuthTimeoutMs,
        maxLineLength: IMAP_LIMITS.maxLineLength,
        handler: (conn) => new ImapSession(conn, this.shared).run(),
        ...replies,
      });
    await this.openListeners([() => listen('imap', this.cfg.port, false), this.cfg.imaps && (() => listen('imaps', this.cfg.imapsPort, true))]);
  }

  protected override detail(): Record<string, unknown> {
    let sessions = 0;
    for (const n of this.shared.sessionsPerUser.values()) sessions += n;
    return { authenticatedSessions: sessions };
  }
}

export const imapModule: ServiceModule = {
  name: 'imap',
  description: 'IMAP4rev1 mail access (RFC 3501) over the lab mail store',
  configSchema: imapConfigSchema,
  serviceClass: ImapService,
  needs: ['mailStore', 'tls'],
};
