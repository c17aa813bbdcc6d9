// Creates the TCP servers and UDP sockets services listen on, with the shared caps, the listen
// address, the port offset and the accounting. Services never call net.createServer themselves.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { LabnetConfig } from './config.js';
import { ConnectionBudget } from './connection-budget.js';
import { LabnetError } from './errors.js';
import type { EventBus } from './events.js';
import type { RuntimeOptions } from './runtime.js';
import { TcpServer, type TcpServerOptions } from './tcp-server.js';
import { openUdpSocket, type UdpSocketOptions } from './udp-socket.js';
import { TOKENS } from './tokens.js';

export type TcpListenRequest = Omit<TcpServerOptions, 'address' | 'maxConnections' | 'maxConnectionsPerAddress' | 'idleTimeoutMs' | 'maxLineLength'> &
  Partial<Pick<TcpServerOptions, 'address' | 'maxConnections' | 'maxConnectionsPerAddress' | 'idleTimeoutMs' | 'maxLineLength'>>;

@injectable()
export class NetHost {
  /** The process-wide connection caps every TCP listener shares (limits.maxConnections, ...PerAddress). */
  readonly budget: ConnectionBudget;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Runtime) private readonly runtime: RuntimeOptions,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {
    this.budget = new ConnectionBudget(config.limits.maxConnections, config.limits.maxConnectionsPerAddress, () => clock.now());
  }

  /** The port a configured TCP port really uses (the offset applies to every non-zero port). */
  tcpPort(port: number): number {
    if (port === 0) return 0;
    // host.ts checkPortOffset refuses such a config; never let a port wrap around (80 + 65500 is not 44).
    if (port + this.runtime.portOffset > 65535)
      throw new LabnetError('CONFIG_INVALID', `port ${port} + --port-offset ${this.runtime.portOffset} is past 65535`);
    return port + this.runtime.portOffset;
  }

  /** Creates (does not start) a TCP server with the config's address and caps. */
  tcpServer(request: TcpListenRequest): TcpServer {
    const options: TcpServerOptions = {
      address: this.config.listen,
      maxConnections: this.config.limits.maxConnections,
      maxConnectionsPerAddress: this.config.limits.maxConnectionsPerAddress,
      idleTimeoutMs: 5 * 60_000,
      maxLineLength: 8192,
      budget: this.budget,
      ...request,
      port: this.tcpPort(request.port),
    };
    return new TcpServer(options, this.events, this.logger.child({ service: request.service }), () => this.clock.now());
  }

  /** Listens, or stops the whole service start with a ListenError. */
  async listenTcp(request: TcpListenRequest): Promise<TcpServer> {
    const server = this.tcpServer(request);
    await server.listen();
    return server;
  }

  udpSocket(options: UdpSocketOptions) {
    return openUdpSocket(options);
  }

  get shutdownGraceMs(): number {
    return this.runtime.shutdownGraceMs;
  }
}
