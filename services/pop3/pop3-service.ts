// The POP3 service (RFC 1939, RFC 2449, RFC 5034) on port 110 over the shared mail store.
import 'reflect-metadata';
import { inject, injectable, optional } from 'inversify';
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
import { defaultCapabilities } from './capabilities.js';
import { pop3CommandTable } from './commands/index.js';
import type { Pop3Config } from './config.js';
import { POP3_LIMITS } from './limits.js';
import { errLine } from './replies.js';
import { Pop3Session, type Pop3SessionDeps } from './session.js';
import { StoreMaildrop } from './store-maildrop.js';

export const IMPLEMENTATION = 'labnet';
/** ALPN id this service answers to (RFC 7301; IANA registry, RFC 2595). */
const POP3_ALPN = ['pop3'] as const;

@injectable()
export class Pop3Service extends TcpService {
  readonly name = 'pop3';
  private readonly cfg: Pop3Config;
  /** STLS (RFC 2595 section 4) and POP3S with the lab certificate, TLS before login if configured. */
  private readonly tlsPolicy: TlsPolicy;
  private sessions = 0;
  private logins = 0;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Accounts) private readonly accounts: Accounts,
    @inject(TOKENS.MailStore) private readonly store: MailStore,
    @inject(TOKENS.Tls) tls: TlsMaterial,
    @inject(TOKENS.Faults) @optional() private readonly faults?: FaultInjector,
  ) {
    super();
    this.cfg = serviceConfig<Pop3Config>(config, 'pop3');
    this.tlsPolicy = TlsPolicy.forMail(config, tls, 'pop3', POP3_ALPN);
  }

  async start(): Promise<void> {
    this.state = 'starting';
    if (this.cfg.idleTimeoutMs < POP3_LIMITS.minRfcIdleTimeoutMs) {
      this.events.publish({
        type: 'notice',
        service: this.name,
        level: 'warn',
        message: `services.pop3.idleTimeoutMs is ${this.cfg.idleTimeoutMs} ms: RFC 1939 section 3 wants at least 10 minutes`,
      });
    }
    const deps: Pop3SessionDeps = {
      events: this.events,
      accounts: this.accounts,
      store: new StoreMaildrop(this.store),
      capabilities: defaultCapabilities(IMPLEMENTATION),
      commands: pop3CommandTable(),
      hostname: this.config.hostname,
      implementation: IMPLEMENTATION,
      maxErrors: this.cfg.maxErrors,
      tls: this.tlsPolicy,
      interceptor: this.faults?.interceptor,
      lockPolicy: { idleMs: this.cfg.lockIdleMs, maxHoldMs: this.cfg.lockMaxHoldMs },
    };
    // RFC 1939 section 3: on the autologout timer the server closes without a response (no idle reply).
    const replies = connectionReplies(this.events, this.name, {
      busy: () => errLine('too many connections, try again later', 'SYS/TEMP'),
      error: () => errLine('internal server error, nothing was deleted', 'SYS/TEMP'),
      shutdown: () => errLine('server shutting down, nothing was deleted', 'SYS/TEMP'),
    });
    const listen = (label: string, port: number, implicitTls: boolean): Promise<TcpServer> =>
      this.net.listenTcp({
        service: this.name,
        label,
        port,
        ...(implicitTls ? { tls: this.tlsPolicy.implicitListener(label) } : {}),
        idleTimeoutMs: this.cfg.idleTimeoutMs,
        // SASL responses may be longer than commands; commands are capped by the session itself.
        maxLineLength: POP3_LIMITS.maxSaslResponse,
        handler: async (conn) => {
          this.sessions++;
          const session = new Pop3Session(conn, deps);
          try {
            await session.run();
          } finally {
            if (session.user) this.logins++;
          }
        },
        ...replies,
      });
    await this.openListeners([() => listen('pop3', this.cfg.port, false), this.cfg.pop3s && (() => listen('pop3s', this.cfg.pop3sPort, true))]);
  }

  protected override detail(): Record<string, unknown> {
    return { sessions: this.sessions, logins: this.logins };
  }
}
