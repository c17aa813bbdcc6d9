// The HTTP service: one site (core/http/site.ts) and one engine (core/http/engine.ts) behind up to three
// listeners: plain HTTP on `port` (on the raw or the net transport), HTTPS on `httpsPort` (node:tls,
// OpenSSL; TLS 1.2 and 1.3, modern suites, ALPN http/1.1, SNI accepted, the lab certificate) and, off
// by default, the TLS 1.2 RSA key-exchange demo listener for the course's "encrypt the pre-master
// secret with the server's public key" lesson. With the handshake demo on, a tap records each
// handshake and `/tls` shows the visitor their own.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import { serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { Accounts } from '../../core/auth.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { createHttpSite, httpLimitsFrom } from '../../core/http/config.js';
import { HttpEngine } from '../../core/http/engine.js';
import type { HttpExchange } from '../../core/http/exchange.js';
import { httpListenerOptions } from '../../core/http/limits.js';
import type { HttpRouteRegistry } from '../../core/http/routes.js';
import type { HttpSite } from '../../core/http/site.js';
import type { NetHost } from '../../core/net-host.js';
import type { StatusBoard } from '../../core/status-board.js';
import { TcpService } from '../../core/tcp-service.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import { TOKENS } from '../../core/tokens.js';
import type { TransportKind } from '../../core/transport.js';
import type { HttpConfig } from './config.js';
import { renderTlsPage } from './tls-page.js';

const ALPN = ['http/1.1'] as const;
const BUSY =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 36\r\nConnection: close\r\n\r\n503 too many connections, try later\n';

type Label = 'http' | 'https' | 'https-rsa-demo';

@injectable()
export class HttpService extends TcpService {
  readonly name = 'http';
  private site: HttpSite | undefined;
  private engine: HttpEngine | undefined;
  /** What the plain listener runs on (undefined: no plain listener). */
  private transport: TransportKind | undefined;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Status) private readonly board: StatusBoard,
    @inject(TOKENS.HttpRoutes) private readonly sharedRoutes: HttpRouteRegistry,
    @inject(TOKENS.Tls) private readonly tls: TlsMaterial,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Accounts) private readonly accounts: Accounts,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const c = serviceConfig<HttpConfig>(this.config, 'http');
    const limits = httpLimitsFrom(c);
    const site = createHttpSite(c, {
      config: this.config,
      events: this.events,
      board: this.board,
      shared: this.sharedRoutes,
      caPem: () => this.tls.caPemIfLoaded,
      auth: this.accounts,
    });
    if (c.https || c.rsaDemo) {
      site.routes.add({
        path: '/tls',
        methods: ['GET'],
        description: 'your own TLS handshake, decoded, as a ladder diagram (with the Wireshark key log)',
        handler: (ex) => this.tlsPage(ex),
      });
    }
    await site.start();
    const engine = new HttpEngine(site);
    engine.start();
    this.site = site;
    this.engine = engine;
    const tlsHandler = (conn: Connection): void => {
      const capture = this.tls.handshakes.forSocket(conn.tlsSocket);
      if (capture) capture.session = conn.id;
      engine.serve(conn);
    };
    const common = { service: 'http', ...httpListenerOptions(limits), busyReply: () => BUSY };
    const tlsOf = (label: Label, extra: { tap?: boolean; tapMaxPerSecond?: number; rsaDemo?: boolean }) =>
      this.tls.listenerTls({ service: 'http', label, alpn: ALPN, handshakeTimeoutMs: c.handshakeTimeoutMs, ...extra });
    try {
      await this.openListeners([
        c.plain && (() => this.net.listenTcp({ ...common, label: 'http', port: c.port, handler: engine.serve, transport: c.transport })),
        c.https &&
          (() =>
            this.net.listenTcp({
              ...common,
              label: 'https',
              port: c.httpsPort,
              handler: tlsHandler,
              tls: tlsOf('https', { tap: c.handshakeDemo, tapMaxPerSecond: c.handshakeDemoMaxPerSecond }),
            })),
        c.rsaDemo &&
          (() =>
            this.net.listenTcp({
              ...common,
              label: 'https-rsa-demo',
              port: c.rsaDemoPort,
              handler: tlsHandler,
              tls: tlsOf('https-rsa-demo', { rsaDemo: true }),
            })),
      ]);
    } catch (err) {
      engine.stop();
      throw err;
    }
    const plain = this.listener('http');
    if (plain) {
      this.transport = plain.transport;
      if (c.transport === 'raw' && plain.transport !== 'raw')
        this.logger.warn('http: the raw transport (Node internal tcp_wrap binding) is not available in this Node; plain HTTP runs on node:net');
      this.logger.info(`http: plain HTTP on port ${plain.port} runs on the ${plain.transport} transport`);
    }
    const demo = this.listener('https-rsa-demo');
    if (demo) this.logger.warn(`http: the RSA key-exchange demo listener (TLS 1.2, no forward secrecy) is on port ${demo.port}`);
    this.logger.debug({ documentRoot: site.options.documentRoot }, 'http site ready');
  }

  /** /tls: the handshake of this very connection; over plain HTTP, a redirect to the TLS listener. */
  private tlsPage(ex: HttpExchange): void {
    const conn = ex.conn;
    const host = (ex.req.host ?? this.config.hostname).replace(/:\d+$/, '');
    const https = this.listener('https');
    const demo = this.listener('https-rsa-demo');
    if (!conn.isTls) {
      const target = https ?? demo;
      if (target === undefined) {
        ex.sendError(404, 'no TLS listener is running');
        return;
      }
      const location = `https://${host}${target.port === 443 ? '' : `:${target.port}`}/tls`;
      ex.send(
        302,
        `Location: ${location}\r\nContent-Type: text/plain; charset=utf-8\r\n`,
        `/tls shows a TLS handshake: this request came over plain HTTP. See ${location}\n`,
      );
      return;
    }
    const rsaDemo = demo !== undefined && conn.local.port === demo.port;
    const capture = this.tls.handshakes.forSocket(conn.tlsSocket);
    const other = rsaDemo ? https : demo;
    const html = renderTlsPage({
      capture,
      decoded: capture?.decode(),
      listener: { name: rsaDemo ? 'https-rsa-demo' : 'https', port: conn.local.port, rsaDemo },
      peer: conn.peer,
      otherUrl: other ? `https://${host}:${other.port}/tls` : undefined,
    });
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }

  private listener(label: Label) {
    return this.listenerGroup.all.find((s) => s.label === label);
  }

  override async stop(options: { timeoutMs: number }): Promise<void> {
    await super.stop(options);
    this.engine?.stop();
  }

  protected override detail(): Record<string, unknown> | undefined {
    const site = this.site;
    if (!site) return undefined;
    const hasTls = this.listenerGroup.all.some((s) => s.options.tls !== undefined);
    return {
      documentRoot: site.options.documentRoot,
      trace: site.options.trace,
      ...(this.transport ? { transport: this.transport } : {}),
      ...(hasTls ? { certificateNames: this.tls.names, certificate: this.tls.origin, handshakesNotRecorded: this.tls.handshakes.untapped } : {}),
    };
  }
}
