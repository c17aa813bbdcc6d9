// A tiny line service used to test the core host: ECHO lines back, STARTTLS, BOOM throws. It runs on the
// line-session base, as a fourth protocol would.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { z } from 'zod';
import { serviceBaseSchema, serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { Connection } from '../../core/connection.js';
import type { EventBus } from '../../core/events.js';
import { CommandTable, LineSession, TlsPolicy, type CommandSpec, type ParsedCommand } from '../../core/line-session/index.js';
import type { NetHost } from '../../core/net-host.js';
import type { Service, ServiceModule, ServiceStatus } from '../../core/service.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TOKENS } from '../../core/tokens.js';

export const echoSchema = serviceBaseSchema({ enabled: true, port: 0 }).extend({
  idleTimeoutMs: z.number().int().default(60_000),
  tls: z.strictObject({ key: z.string(), cert: z.string() }).optional(),
  failStart: z.boolean().default(false),
  /** Stands for a service that takes long to start (DHCP probing the link for other servers). */
  startDelayMs: z.number().int().min(0).max(10_000).default(0),
});
type EchoConfig = z.infer<typeof echoSchema>;

type EchoHandler = (s: EchoSession) => void | Promise<void>;
type EchoCommand = CommandSpec<'open', EchoHandler>;

/** The echo protocol on the line-session base: four commands; any other line is echoed back. */
const ECHO_COMMANDS = new CommandTable<'open', EchoCommand>([
  {
    name: 'QUIT',
    states: ['open'],
    handler(s) {
      s.send('+OK bye');
      s.ending = true;
    },
  },
  {
    name: 'BOOM',
    states: ['open'],
    handler() {
      throw new Error('boom on purpose');
    },
  },
  {
    name: 'SLOW',
    states: ['open'],
    async handler(s) {
      await new Promise((r) => setTimeout(r, 300));
      s.send('+OK slow done');
    },
  },
  {
    name: 'STARTTLS',
    states: ['open'],
    async handler(s) {
      if (!s.cfg.tls) return s.echo('STARTTLS');
      s.send('+OK begin TLS');
      await s.upgradeTls({ key: s.cfg.tls.key, cert: s.cfg.tls.cert });
    },
  },
]);

class EchoSession extends LineSession<'open', EchoCommand> {
  state = 'open' as const;

  constructor(
    conn: Connection,
    events: EventBus,
    readonly cfg: EchoConfig,
  ) {
    super(conn, events, { maxBadCommands: 3, maxCommandLine: 64, tls: TlsPolicy.none() }, ECHO_COMMANDS);
  }

  echo(text: string): void {
    this.send(`ECHO ${text}${this.conn.isTls ? ' (tls)' : ''}`);
  }

  protected greet(): void {
    this.send('+OK echo ready');
  }

  protected parse(raw: Buffer): ParsedCommand {
    const line = raw.toString('utf8');
    return { name: line.toUpperCase(), argCount: 0, line };
  }

  protected execute(_cmd: ParsedCommand, spec: EchoCommand): void | Promise<void> {
    return spec.handler(this);
  }

  protected override unknownCommandText(cmd: ParsedCommand): string {
    return cmd.line.startsWith('SECRET ') ? 'SECRET <redacted>' : cmd.line;
  }

  protected onUnknown(cmd: ParsedCommand): void {
    this.echo(cmd.line);
  }

  protected onWrongState(): void {}
  protected onBadArgs(): void {}
  protected onTlsRequired(): void {}

  protected onLineTooLong(): void {
    this.send('-ERR line too long');
    if (this.countBad()) this.ending = true;
  }

  protected onShutdown(): void {
    this.send('-ERR shutting down');
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
    if (this.cfg.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.cfg.startDelayMs));
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
