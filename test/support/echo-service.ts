// A tiny line service used to test the core host: ECHO lines back, STARTTLS, BOOM throws.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { z } from 'zod';
import { serviceBaseSchema, serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { FramerError } from '../../core/line-framer.js';
import { LineSession } from '../../core/line-session.js';
import type { NetHost } from '../../core/net-host.js';
import type { Service, ServiceModule, ServiceStatus } from '../../core/service.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TOKENS } from '../../core/tokens.js';

export const echoSchema = serviceBaseSchema({ enabled: true, port: 0 }).extend({
  idleTimeoutMs: z.number().int().default(60_000),
  tls: z.strictObject({ key: z.string(), cert: z.string() }).optional(),
  failStart: z.boolean().default(false),
});
type EchoConfig = z.infer<typeof echoSchema>;

class EchoSession extends LineSession {
  constructor(
    conn: Connection,
    events: EventBus,
    private readonly cfg: EchoConfig,
  ) {
    super(conn, events, { maxBadCommands: 3 });
  }

  async run(): Promise<void> {
    this.send('+OK echo ready');
    for (;;) {
      let line: Buffer | null;
      try {
        line = await this.conn.readCommandLine();
      } catch (err) {
        if (err instanceof FramerError) {
          this.send('-ERR line too long');
          if (this.countBad()) return;
          continue;
        }
        throw err;
      }
      if (line === null) return;
      const text = line.toString('utf8');
      this.commandEvent(text.startsWith('SECRET ') ? 'SECRET <redacted>' : text);
      if (text === 'QUIT') {
        this.send('+OK bye');
        return;
      }
      if (text === 'BOOM') throw new Error('boom on purpose');
      if (text === 'SLOW') {
        await new Promise((r) => setTimeout(r, 300));
        this.send('+OK slow done');
        continue;
      }
      if (text === 'STARTTLS' && this.cfg.tls) {
        this.send('+OK begin TLS');
        await this.upgradeTls({ key: this.cfg.tls.key, cert: this.cfg.tls.cert });
        continue;
      }
      this.send(`ECHO ${text}${this.conn.isTls ? ' (tls)' : ''}`);
    }
  }
}

@injectable()
export class EchoService implements Service {
  readonly name = 'echo';
  private server: TcpServer | undefined;
  private readonly cfg: EchoConfig;

  constructor(
    @inject(TOKENS.Config) config: LabnetConfig,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Events) private readonly events: EventBus,
  ) {
    this.cfg = serviceConfig<EchoConfig>(config, 'echo');
  }

  async start(): Promise<void> {
    if (this.cfg.failStart) throw new Error('echo refuses to start (test)');
    this.server = await this.net.listenTcp({
      service: 'echo',
      port: this.cfg.port,
      idleTimeoutMs: this.cfg.idleTimeoutMs,
      maxLineLength: 64,
      handler: (conn) => new EchoSession(conn, this.events, this.cfg).run(),
      busyReply: (why) => `-ERR busy (${why})\r\n`,
      errorReply: () => '-ERR internal error\r\n',
      idleReply: () => '-ERR idle timeout\r\n',
      shutdownReply: () => '-ERR shutting down\r\n',
    });
  }

  async stop({ timeoutMs }: { timeoutMs: number }): Promise<void> {
    await this.server?.close(timeoutMs);
  }

  listeners() {
    return this.server ? [{ name: 'echo', protocol: 'tcp' as const, address: this.server.address, port: this.server.port }] : [];
  }

  status(): ServiceStatus {
    const s = this.server?.stats();
    return {
      name: 'echo',
      state: this.server ? 'running' : 'stopped',
      listeners: this.listeners(),
      connections: s?.open,
      bytesIn: s?.bytesIn,
      bytesOut: s?.bytesOut,
    };
  }
}

export const echoModule: ServiceModule = { name: 'echo', description: 'test echo service', configSchema: echoSchema, serviceClass: EchoService };

/** A second module that always fails to start, to test isolation. */
@injectable()
export class BrokenService implements Service {
  readonly name = 'broken';
  async start(): Promise<void> {
    throw new Error('broken on purpose');
  }
  async stop(): Promise<void> {}
  listeners() {
    return [];
  }
  status(): ServiceStatus {
    return { name: 'broken', state: 'stopped', listeners: [] };
  }
}
export const brokenModule: ServiceModule = {
  name: 'broken',
  description: 'always fails',
  configSchema: serviceBaseSchema({ enabled: true, port: 0 }),
  serviceClass: BrokenService,
};
