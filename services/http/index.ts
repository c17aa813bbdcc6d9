// The HTTP service (port 80): the handwritten HTTP/1.1 engine of core/http serving the lab's site
// (landing page, /healthz, /echo, /upload/, the document root). HTTPS runs the same engine over TLS.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import { serviceBaseSchema, serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { EventBus } from '../../core/events.js';
import { createHttpSite, httpLimitsFrom, httpSiteFields, type HttpSiteConfig } from '../../core/http/config.js';
import { httpListenerOptions } from '../../core/http/limits.js';
import { serveHttp } from '../../core/http/engine.js';
import type { HttpRouteRegistry } from '../../core/http/routes.js';
import type { HttpSite } from '../../core/http/site.js';
import type { NetHost } from '../../core/net-host.js';
import type { ServiceModule } from '../../core/service.js';
import type { StatusBoard } from '../../core/status-board.js';
import { TcpService } from '../../core/tcp-service.js';
import { TOKENS } from '../../core/tokens.js';

export const httpConfigSchema = serviceBaseSchema({ enabled: true, port: 80 }).extend(httpSiteFields);

export type HttpConfig = HttpSiteConfig & { enabled: boolean; port: number };

@injectable()
export class HttpService extends TcpService {
  readonly name = 'http';
  private site: HttpSite | undefined;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Status) private readonly board: StatusBoard,
    @inject(TOKENS.HttpRoutes) private readonly sharedRoutes: HttpRouteRegistry,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const c = serviceConfig<HttpConfig>(this.config, 'http');
    const limits = httpLimitsFrom(c);
    const site = createHttpSite(c, { config: this.config, events: this.events, board: this.board, shared: this.sharedRoutes });
    await site.start();
    this.site = site;
    try {
      await this.openListeners([
        () =>
          this.net.listenTcp({
            service: 'http',
            label: 'http',
            port: c.port,
            handler: (conn) => serveHttp(conn, site),
            ...httpListenerOptions(limits),
            // HTTP never upgrades in place: bare libuv handles instead of net.Socket (core/raw-tcp.ts).
            rawTcp: true,
            busyReply: () =>
              'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 36\r\nConnection: close\r\n\r\n503 too many connections, try later\n',
          }),
      ]);
    } catch (err) {
      site.stop();
      throw err;
    }
    this.logger.debug({ documentRoot: site.options.documentRoot }, 'http site ready');
  }

  override async stop(options: { timeoutMs: number }): Promise<void> {
    await super.stop(options);
    this.site?.stop();
  }

  protected override detail(): Record<string, unknown> | undefined {
    return this.site ? { documentRoot: this.site.options.documentRoot, trace: this.site.options.trace } : undefined;
  }
}

export const httpModule: ServiceModule = {
  name: 'http',
  description: 'HTTP/1.1 web server: landing page, /healthz, /echo, /upload/ and the document root',
  configSchema: httpConfigSchema,
  serviceClass: HttpService,
};
