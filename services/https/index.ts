// The HTTPS service (port 443): the same handwritten HTTP/1.1 engine and site as HTTP, over node:tls
// (OpenSSL; TLS 1.2 and 1.3, modern suites, ALPN http/1.1, SNI accepted) with the lab certificate.
// With the handshake demo on, a tap records each handshake and `/tls` shows the visitor their own.
// A second, off-by-default listener speaks only TLS 1.2 with RSA key exchange for the course's
// "encrypt the pre-master secret with the server's public key" demo.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { z } from 'zod';
import type { Logger } from 'pino';
import { portSchema, serviceBaseSchema, serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { createHttpSite, httpLimitsFrom, httpSiteFields, type HttpSiteConfig } from '../../core/http/config.js';
import { httpListenerOptions } from '../../core/http/limits.js';
import { serveHttp } from '../../core/http/engine.js';
import type { HttpExchange } from '../../core/http/exchange.js';
import type { HttpRouteRegistry } from '../../core/http/routes.js';
import type { HttpSite } from '../../core/http/site.js';
import type { NetHost } from '../../core/net-host.js';
import type { ServiceModule } from '../../core/service.js';
import type { StatusBoard } from '../../core/status-board.js';
import { TcpService } from '../../core/tcp-service.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import { TOKENS } from '../../core/tokens.js';
import { renderTlsPage } from './tls-page.js';

export const httpsConfigSchema = serviceBaseSchema({ enabled: true, port: 443 }).extend({
  ...httpSiteFields,
  /** Record each handshake (bounded ring) so /tls can show it; off: plain node:tls, /tls says so. */
  handshakeDemo: z.boolean().default(true),
  /**
   * Tap at most this many handshakes per second (0: every one). A room of browsers stays far below;
   * beyond it (a flood, a benchmark) connections run on plain node:tls, so the demo's cost is bounded.
   */
  handshakeDemoMaxPerSecond: z.number().int().min(0).default(100),
  /** The TLS 1.2 RSA-key-exchange demo listener (deliberately weak; off by default). */
  rsaDemo: z.boolean().default(false),
  rsaDemoPort: portSchema.default(4443),
  /** A TLS handshake must finish within this time. */
  handshakeTimeoutMs: z.number().int().min(100).default(15_000),
});

export type HttpsConfig = HttpSiteConfig & {
  enabled: boolean;
  port: number;
  handshakeDemo: boolean;
  handshakeDemoMaxPerSecond: number;
  rsaDemo: boolean;
  rsaDemoPort: number;
  handshakeTimeoutMs: number;
};

const ALPN = ['http/1.1'] as const;

@injectable()
export class HttpsService extends TcpService {
  readonly name = 'https';
  private site: HttpSite | undefined;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Status) private readonly board: StatusBoard,
    @inject(TOKENS.HttpRoutes) private readonly sharedRoutes: HttpRouteRegistry,
    @inject(TOKENS.Tls) private readonly tls: TlsMaterial,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const c = serviceConfig<HttpsConfig>(this.config, 'https');
    const limits = httpLimitsFrom(c);
    const site = createHttpSite(c, { config: this.config, events: this.events, board: this.board, shared: this.sharedRoutes });
    site.routes.add({
      path: '/tls',
      methods: ['GET'],
      description: 'your own TLS handshake, decoded, as a ladder diagram (with the Wireshark key log)',
      handler: (ex) => this.tlsPage(ex),
    });
    await site.start();
    this.site = site;
    const handler = (conn: Connection): void => {
      const capture = this.tls.handshakes.forSocket(conn.tlsSocket);
      if (capture) capture.session = conn.id;
      serveHttp(conn, site);
    };
    const common = {
      service: 'https',
      handler,
      // As for HTTP (the handshake has its own timeout).
      ...httpListenerOptions(limits),
    };
    try {
      await this.openListeners([
        () =>
          this.net.listenTcp({
            ...common,
            label: 'https',
            port: c.port,
            tls: this.tls.listenerTls({
              service: 'https',
              label: 'https',
              alpn: ALPN,
              tap: c.handshakeDemo,
              tapMaxPerSecond: c.handshakeDemoMaxPerSecond,
              handshakeTimeoutMs: c.handshakeTimeoutMs,
            }),
          }),
        c.rsaDemo &&
          (() =>
            this.net.listenTcp({
              ...common,
              label: 'https-rsa-demo',
              port: c.rsaDemoPort,
              tls: this.tls.listenerTls({ service: 'https', label: 'https-rsa-demo', alpn: ALPN, rsaDemo: true, handshakeTimeoutMs: c.handshakeTimeoutMs }),
            })),
      ]);
    } catch (err) {
      site.stop();
      throw err;
    }
    const demo = this.demoServer;
    if (demo) this.logger.warn(`https: the RSA key-exchange demo listener (TLS 1.2, no forward secrecy) is on port ${demo.port}`);
  }

  private tlsPage(ex: HttpExchange): void {
    const conn = ex.conn;
    const demoServer = this.demoServer;
    const rsaDemo = demoServer !== undefined && conn.local.port === demoServer.port;
    const capture = this.tls.handshakes.forSocket(conn.tlsSocket);
    const decoded = capture?.decode();
    const host = (ex.req.host ?? this.config.hostname).replace(/:\d+$/, '');
    const other = rsaDemo ? this.listener('https') : demoServer;
    const html = renderTlsPage({
      capture,
      decoded,
      listener: { name: rsaDemo ? 'https-rsa-demo' : 'https', port: conn.local.port, rsaDemo },
      peer: conn.peer,
      otherUrl: other ? `https://${host}:${other.port}/tls` : undefined,
    });
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }

  private listener(label: 'https' | 'https-rsa-demo') {
    return this.listenerGroup.all.find((s) => s.label === label);
  }

  private get demoServer() {
    return this.listener('https-rsa-demo');
  }

  override async stop(options: { timeoutMs: number }): Promise<void> {
    await super.stop(options);
    this.site?.stop();
  }

  protected override detail(): Record<string, unknown> {
    return { certificateNames: this.tls.names, certificate: this.tls.origin, handshakesNotRecorded: this.tls.handshakes.untapped };
  }
}

export const httpsModule: ServiceModule = {
  name: 'https',
  description: 'HTTPS (TLS 1.2/1.3 with the lab CA): the HTTP site plus /tls, your own handshake decoded',
  configSchema: httpsConfigSchema,
  serviceClass: HttpsService,
  needs: ['tls'],
};
