// The lab DNS service: UDP and TCP on port 53 (plus --port-offset), authoritative for the lab's zones
// only (zone.ts), answering through responder.ts. It binds `listen`; when that is the wildcard address
// and the port is taken there (a local stub resolver such as systemd-resolved holds 127.0.0.53:53),
// it binds each of the machine's own addresses instead and says so. Every query and answer is a
// 'packet' event when somebody listens; nothing is decoded for events otherwise.
import 'reflect-metadata';
import { isIPv6 } from 'node:net';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { serviceConfig, type LabnetConfig } from '../../core/config.js';
import type { Connection } from '../../core/connection.js';
import { ListenError } from '../../core/errors.js';
import type { EventBus } from '../../core/events.js';
import type { LabNames } from '../../core/lab-names.js';
import { ListenerGroup } from '../../core/listener-group.js';
import type { NetHost } from '../../core/net-host.js';
import type { RuntimeOptions } from '../../core/runtime.js';
import type { ListenerInfo, Service, ServiceState, ServiceStatus } from '../../core/service.js';
import type { StatusBoard } from '../../core/status-board.js';
import type { TcpServer } from '../../core/tcp-server.js';
import { TOKENS } from '../../core/tokens.js';
import { parseSubnet, unmapIpv4, type Subnet } from './addresses.js';
import type { DnsConfig } from './config.js';
import { describeMessage } from './describe.js';
import { RCODE } from './header.js';
import { HostAddresses, readInterfaces } from './host-addresses.js';
import { DNS_LIMITS } from './limits.js';
import { RateLimiter } from './rate-limiter.js';
import { Responder, type Outcome, type Transport } from './responder.js';
import { loadUdpBatch, openBatchTransport, openDgramTransport, type UdpTransport } from './udp-transport.js';
import { LabZone, MAIL_SRV } from './zone.js';

/** Where each MAIL_SRV listener's port is in the config, for before the status board is filled in. */
const CONFIG_PORTS: Record<string, { key: string; switch?: string }> = {
  'smtp/submission': { key: 'submissionPort', switch: 'submission' },
  'smtp/smtps': { key: 'smtpsPort', switch: 'smtps' },
  'imap/imap': { key: 'port' },
  'imap/imaps': { key: 'imapsPort', switch: 'imaps' },
  'pop3/pop3': { key: 'port' },
  'pop3/pop3s': { key: 'pop3sPort', switch: 'pop3s' },
};

interface Bound {
  address: string;
  udp: UdpTransport;
  tcp: TcpServer;
}

@injectable()
export class DnsService implements Service {
  readonly name = 'dns';
  private state: ServiceState = 'stopped';
  private readonly cfg: DnsConfig;
  private readonly log: Logger;
  private readonly hosts: HostAddresses;
  private readonly limiter: RateLimiter;
  readonly responder: Responder;
  private bound: Bound[] = [];
  private readonly tcpGroup = new ListenerGroup();
  /** Set when the wildcard address was taken and each address was bound instead. */
  private fallback: string | undefined;
  private zones = new Map<string, LabZone>();
  private zonesNamesVersion = -1;
  private zonesValidUntil = Infinity;
  private zonesSignature = '';
  private serial = 0;
  private boardSeen = false;
  private dgramNoted = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly clashNoticed = new Set<string>();
  counters = { queries: 0, udp: 0, tcp: 0, answered: 0, truncated: 0, formerr: 0, refused: 0, nxdomain: 0, dropped: 0, rateLimited: 0 };

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Runtime) private readonly runtime: RuntimeOptions,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Net) private readonly net: NetHost,
    @inject(TOKENS.Status) private readonly board: StatusBoard,
    @inject(TOKENS.LabNames) private readonly names: LabNames,
  ) {
    this.cfg = serviceConfig<DnsConfig>(config, 'dns');
    this.log = logger.child({ service: 'dns' });
    this.hosts = new HostAddresses(this.cfg.hostAddresses, readInterfaces);
    this.limiter = new RateLimiter(this.cfg.rateLimitPerSecond, this.cfg.rateLimitBurst, DNS_LIMITS.rateLimitClients, DNS_LIMITS.rateNoticeIntervalMs);
    this.responder = new Responder((view) => this.zoneFor(view), { ednsUdpSize: this.cfg.ednsUdpSize });
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const listen = this.config.listen;
    try {
      this.bound.push(await this.bindAt(listen));
    } catch (err) {
      const wildcard = listen === '0.0.0.0' || listen === '::';
      if (!(err instanceof ListenError) || err.cause.code !== 'EADDRINUSE' || !wildcard) {
        this.state = 'failed';
        throw err;
      }
      await this.bindEachAddress(err, listen === '::');
    }
    this.refreshTimer = setInterval(() => this.refresh(), DNS_LIMITS.refreshIntervalMs);
    this.refreshTimer.unref();
    this.state = 'running';
  }

  /**
   * The wildcard address is taken on this port, typically by a stub resolver on 127.0.0.53:53: binds
   * each of the machine's own addresses (those a student's machine or a local program would ask), so
   * the lab DNS runs beside it.
   */
  private async bindEachAddress(cause: ListenError, ipv6: boolean): Promise<void> {
    const candidates = [
      ...new Set(
        readInterfaces()
          .filter((i) => i.family === 4 || ipv6)
          .map((i) => i.address),
      ),
    ];
    const skipped: string[] = [];
    for (const address of candidates) {
      try {
        this.bound.push(await this.bindAt(address));
      } catch (err) {
        if (!(err instanceof ListenError)) throw err;
        skipped.push(`${address} (${err.cause.code ?? err.cause.message})`);
      }
    }
    if (this.bound.length === 0) {
      this.state = 'failed';
      throw cause;
    }
    const port = this.bound[0].tcp.port;
    this.fallback =
      `port ${port} on ${this.config.listen} is taken (a local stub resolver such as systemd-resolved listens on 127.0.0.53:${port}); ` +
      `the lab DNS listens on each of this machine's addresses instead: ${this.bound.map((b) => b.address).join(', ')}` +
      (skipped.length ? `; not on ${skipped.join(', ')}` : '') +
      '. Addresses added after start-up are not served until labnet restarts.';
    this.log.warn(this.fallback);
    this.events.publish({ type: 'notice', service: 'dns', level: 'warn', message: this.fallback });
  }

  /**
   * UDP and TCP on one address and port. A fixed port: UDP first, so that a port taken on the wildcard
   * address (the stub resolver case) is found without a failed TCP listener. Port 0: TCP first (the
   * kernel picks), then UDP on the same number, again with another port if that one is taken for UDP.
   */
  private async bindAt(address: string): Promise<Bound> {
    const tcpServer = () =>
      this.net.tcpServer({
        service: 'dns',
        label: 'dns-tcp',
        address,
        port: this.cfg.port,
        handler: (conn) => this.tcpSession(conn),
        idleTimeoutMs: this.cfg.tcpIdleTimeoutMs,
        maxConnections: this.cfg.tcpMaxConnections,
        maxConnectionsPerAddress: this.cfg.tcpMaxConnectionsPerAddress,
        maxLineLength: 512,
      });
    if (this.cfg.port !== 0) {
      const udp = await this.openUdp(address, this.net.tcpPort(this.cfg.port));
      const tcp = tcpServer();
      try {
        await tcp.listen();
      } catch (err) {
        await udp.close();
        throw err;
      }
      await this.tcpGroup.open([() => Promise.resolve(tcp)]);
      return { address, udp, tcp };
    }
    for (let attempt = 0; ; attempt++) {
      const tcp = tcpServer();
      await tcp.listen();
      let udp: UdpTransport;
      try {
        udp = await this.openUdp(address, tcp.port);
      } catch (err) {
        await tcp.close(0);
        if (attempt < 5 && err instanceof ListenError && err.cause.code === 'EADDRINUSE') continue;
        throw err;
      }
      await this.tcpGroup.open([() => Promise.resolve(tcp)]);
      return { address, udp, tcp };
    }
  }

  /** The configured UDP transport: the batch addon when built ('auto'), node:dgram otherwise. */
  private async openUdp(address: string, port: number): Promise<UdpTransport> {
    const handler = (query: Buffer, from: string, fromPort: number): Buffer | undefined => this.handle(query, from, fromPort, 'udp');
    if (this.cfg.udpTransport !== 'dgram') {
      const { addon, why } = loadUdpBatch();
      if (addon) return openBatchTransport(addon, address, port, handler);
      if (this.cfg.udpTransport === 'batch') throw new Error(`services.dns.udpTransport is "batch" but ${why}`);
      if (!this.dgramNoted) {
        this.dgramNoted = true;
        this.log.info(`UDP through node:dgram: ${why}`);
      }
    }
    return openDgramTransport(this.net, address, port, handler);
  }

  /** RFC 7766: length-prefixed messages, several per connection, answered in order. */
  private async tcpSession(conn: Connection): Promise<void> {
    const peer = conn.peer;
    for (;;) {
      if (conn.closing && conn.framer.buffered === 0) return;
      conn.markIdle(true);
      const head = await conn.framer.readBytes(2);
      conn.markIdle(false);
      if (!head) return;
      const length = head.readUInt16BE(0);
      if (length < DNS_LIMITS.headerLength || length > DNS_LIMITS.maxTcpQueryLength) {
        this.counters.dropped++;
        this.log.debug(`closing TCP connection from ${peer.address}: a message of ${length} octets is not a query`);
        return;
      }
      const query = await conn.framer.readBytes(length);
      if (!query) return;
      const out = this.handle(query, peer.address, peer.port, 'tcp');
      if (!out) continue;
      const frame = Buffer.allocUnsafe(out.length + 2);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      if (!conn.write(frame)) await conn.drain();
    }
  }

  /** One query from either transport: rate limit, answer, count, describe. Undefined: send nothing. */
  handle(query: Buffer, clientAddress: string, clientPort: number, transport: Transport): Buffer | undefined {
    const now = this.clock.now();
    const client = unmapIpv4(clientAddress);
    this.counters.queries++;
    this.counters[transport]++;
    if (!this.limiter.allow(client, now)) {
      this.counters.rateLimited++;
      if (this.limiter.shouldNotice(client, now)) {
        const message = `${client} sends more than ${this.cfg.rateLimitPerSecond} DNS queries a second; the excess is ${transport === 'udp' ? 'dropped' : 'refused'} (services.dns.rateLimitPerSecond)`;
        this.log.warn(message);
        this.events.publish({ type: 'notice', service: 'dns', level: 'warn', message, detail: { client } });
      }
      // Over TCP the client is real (the handshake proves its address): tell it. Over UDP stay silent.
      return transport === 'tcp' && query.length >= 12 ? refusedFor(query) : undefined;
    }
    if (this.names.version !== this.zonesNamesVersion || now >= this.zonesValidUntil || (!this.boardSeen && this.board.all().length > 0))
      this.invalidateZones();
    const view = this.hosts.viewFor(client);
    let outcome: Outcome;
    try {
      outcome = this.responder.respond(query, view, transport);
    } catch (err) {
      // A bug must cost one query, never the service.
      this.counters.dropped++;
      this.log.error({ err }, `error answering a query from ${client}`);
      return undefined;
    }
    this.count(outcome);
    if (this.events.wants('packet')) this.publish(query, outcome, { address: client, port: clientPort }, transport);
    return outcome.response;
  }

  private count(o: Outcome): void {
    if (!o.response) {
      this.counters.dropped++;
      return;
    }
    this.counters.answered++;
    if (o.truncated) this.counters.truncated++;
    if (o.rcode === RCODE.FORMERR) this.counters.formerr++;
    else if (o.rcode === RCODE.REFUSED) this.counters.refused++;
    else if (o.rcode === RCODE.NXDOMAIN) this.counters.nxdomain++;
  }

  private publish(query: Buffer, o: Outcome, peer: { address: string; port: number }, transport: Transport): void {
    const q = describeMessage(query, transport);
    const note = o.dropped ? ` (dropped: ${o.dropped === 'short' ? 'shorter than a DNS header' : 'a response, not a query'})` : '';
    this.events.publish({ type: 'packet', service: 'dns', direction: 'in', peer, summary: q.summary + note, fields: q.fields });
    if (!o.response) return;
    const a = describeMessage(o.response, transport);
    const why = o.error ? ` [${o.error.code}: ${o.error.message}]` : '';
    this.events.publish({
      type: 'packet',
      service: 'dns',
      direction: 'out',
      peer,
      summary: a.summary + why,
      fields: { ...a.fields, cached: o.cached, ...(o.error ? { formerr: { code: o.error.code, message: o.error.message } } : {}) },
    });
  }

  /** Forgets the zones and every encoded answer: the next query builds them again. */
  private invalidateZones(): void {
    this.zones = new Map();
    this.responder.invalidate();
    this.zonesNamesVersion = this.names.version;
    this.zonesValidUntil = Infinity;
    if (!this.boardSeen && this.board.all().length > 0) this.boardSeen = true;
    this.zonesSignature = this.signature();
  }

  /** Every few seconds: interfaces and the other services' ports; rebuilds the zones if they moved. */
  private refresh(): void {
    this.hosts.refresh();
    if (this.signature() !== this.zonesSignature) this.invalidateZones();
  }

  private signature(): string {
    return `${this.hosts.signature}|${JSON.stringify(this.srvPorts())}`;
  }

  private zoneFor(view: string): LabZone {
    const hit = this.zones.get(view);
    if (hit) return hit;
    const now = this.clock.now();
    this.serial = Math.max(this.serial + 1, Math.floor(now / 1000));
    const dhcpNames = this.names.entries(now);
    for (const e of dhcpNames) this.zonesValidUntil = Math.min(this.zonesValidUntil, e.expiresAt);
    const zone = new LabZone({
      domain: this.config.domain,
      hostname: this.config.hostname,
      ttl: this.cfg.ttl,
      negativeTtl: this.cfg.negativeTtl,
      serial: this.serial,
      hostAddresses: this.hosts.addressesFor(view),
      allHostAddresses: this.hosts.all(),
      reverse: this.reverseSubnets(),
      srvPorts: this.srvPorts(),
      dhcpNames,
    });
    for (const label of zone.clashes) {
      if (this.clashNoticed.has(label)) continue;
      if (this.clashNoticed.size > 1000) this.clashNoticed.clear();
      this.clashNoticed.add(label);
      const message = `a DHCP client calls itself "${label}", a name the lab reserves: ${label}.${this.config.domain} keeps pointing at the lab host`;
      this.log.info(message);
      this.events.publish({ type: 'notice', service: 'dns', level: 'info', message });
    }
    this.zones.set(view, zone);
    return zone;
  }

  private reverseSubnets(): Subnet[] {
    if (this.cfg.reverseSubnets.length > 0) return this.cfg.reverseSubnets.map((s) => parseSubnet(s)!);
    const out: Subnet[] = [];
    const dhcp = this.config.services.dhcp;
    if (dhcp?.enabled && typeof dhcp.subnet === 'string') {
      const s = parseSubnet(dhcp.subnet);
      if (s) out.push(s);
    }
    for (const s of this.hosts.subnets()) if (!out.some((o) => o.prefix === s.prefix && o.network.every((b, i) => b === s.network[i]))) out.push(s);
    return out;
  }

  /** The real port of each mail service the SRV records name (undefined: not running). */
  private srvPorts(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    const statuses = this.board.all();
    for (const srv of MAIL_SRV) {
      if (statuses.length > 0) {
        const s = statuses.find((x) => x.name === srv.service && x.state === 'running');
        out[srv.owner] = s?.listeners.find((l) => l.name === srv.listener)?.port;
        continue;
      }
      const section = this.config.services[srv.service];
      const where = CONFIG_PORTS[`${srv.service}/${srv.listener}`];
      const port = section?.[where.key];
      const on = section?.enabled && (where.switch === undefined || section[where.switch] !== false);
      out[srv.owner] = on && typeof port === 'number' && port !== 0 ? this.net.tcpPort(port) : undefined;
    }
    return out;
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    this.state = 'stopping';
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    const sockets = this.bound.map((b) => b.udp);
    this.bound = [];
    await Promise.all([this.tcpGroup.close(Math.min(options.timeoutMs, 1000)), ...sockets.map((s) => s.close())]);
    this.state = 'stopped';
  }

  listeners(): ListenerInfo[] {
    const out: ListenerInfo[] = [];
    for (const b of this.bound) {
      out.push({ name: 'dns', protocol: 'udp', address: b.udp.address, port: b.udp.port });
      out.push({ name: 'dns-tcp', protocol: 'tcp', address: b.tcp.address, port: b.tcp.port });
    }
    return out;
  }

  status(): ServiceStatus {
    const zone = this.zones.get([...this.zones.keys()][0] ?? '');
    return {
      name: this.name,
      state: this.state,
      listeners: this.listeners(),
      ...this.tcpGroup.totals(),
      detail: {
        domain: this.config.domain,
        hostname: this.config.hostname,
        hostAddresses: this.hosts.automatic ? 'automatic (each client gets the addresses on its own network)' : this.cfg.hostAddresses,
        dhcpNames: this.names.size,
        serial: zone?.serial,
        counters: { ...this.counters, cacheHits: this.responder.counters.hits, cacheMisses: this.responder.counters.misses },
        udpTransport: this.bound[0]?.udp.kind,
        udp: this.bound.map((b) => b.udp.stats()),
        ...(this.fallback ? { fallback: this.fallback } : {}),
        ...(isIPv6(this.config.listen) ? { ipv6: true } : {}),
      },
    };
  }
}

/** A REFUSED answer built from the query's header alone (rate-limited TCP clients). */
function refusedFor(query: Buffer): Buffer {
  const out = Buffer.alloc(12);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x80 | (query[2] & 0x79);
  out[3] = RCODE.REFUSED;
  return out;
}
