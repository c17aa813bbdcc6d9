// The DHCP service: checks the interface, loads the lease journal, looks for another DHCP server,
// then serves the one interface (see interface-binding.ts). Each datagram is decoded (packet.ts),
// answered by the state machine (server.ts) and, for an ACK, sent only once its lease is durable.
import 'reflect-metadata';
import type { Socket, RemoteInfo } from 'node:dgram';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { serviceConfig, type LabnetConfig } from '../../core/config.js';
import { LabnetError } from '../../core/errors.js';
import { labDnsAddressFor, type LabNames } from '../../core/lab-names.js';
import type { EventBus } from '../../core/events.js';
import type { RuntimeOptions } from '../../core/runtime.js';
import type { ListenerInfo, Service, ServiceState, ServiceStatus } from '../../core/service.js';
import { TOKENS } from '../../core/tokens.js';
import { openUdpSocket } from '../../core/udp-socket.js';
import { FreeAddressIndex } from './allocator.js';
import type { DhcpConfig } from './config.js';
import { bindSocketToDevice, loadBindDevice, lookupInterface, type InterfaceInfo } from './interface-binding.js';
import { inSubnet, intToIp, ipToInt, macToString, normaliseMac, parseCidr } from './ipv4.js';
import { LeaseJournal } from './lease-journal.js';
import { LeaseStore } from './lease-store.js';
import { DHCP_LIMITS } from './limits.js';
import { MESSAGE_NAMES, MSG, OPT } from './options.js';
import { decodePacket, describePacket, encodePacket, messageType, optionIp, type DhcpPacket } from './packet.js';
import { probeForDhcpServers } from './rogue-probe.js';
import { DhcpServer, type Reservation } from './server.js';

function refused(message: string): LabnetError {
  return new LabnetError('SERVICE_REFUSED', `dhcp: ${message}`);
}

export function summarise(p: DhcpPacket): string {
  const type = messageType(p);
  const parts = [
    MESSAGE_NAMES[type ?? 0] ?? (p.op === 2 ? 'BOOTREPLY' : 'BOOTREQUEST'),
    `xid=0x${p.xid.toString(16).padStart(8, '0')}`,
    `chaddr=${macToString(p.chaddr, p.hlen)}`,
  ];
  if (p.ciaddr) parts.push(`ciaddr=${intToIp(p.ciaddr)}`);
  if (p.yiaddr) parts.push(`yiaddr=${intToIp(p.yiaddr)}`);
  if (p.giaddr) parts.push(`giaddr=${intToIp(p.giaddr)}`);
  const requested = optionIp(p, OPT.requestedAddress);
  if (requested !== undefined) parts.push(`requested=${intToIp(requested)}`);
  const sid = optionIp(p, OPT.serverId);
  if (sid !== undefined) parts.push(`server=${intToIp(sid)}`);
  return parts.join(' ');
}

@injectable()
export class DhcpService implements Service {
  readonly name = 'dhcp';
  private state: ServiceState = 'stopped';
  private readonly cfg: DhcpConfig;
  private readonly log: Logger;
  private iface: InterfaceInfo | undefined;
  private server: DhcpServer | undefined;
  private store: LeaseStore | undefined;
  private journal: LeaseJournal | undefined;
  private recvSocket: Socket | undefined;
  private sendSocket: Socket | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** When each kind of notice was last given (they are rate-limited per kind). */
  private readonly lastNotice = new Map<string, number>();
  /** ACKs withheld because their lease could not be recorded. */
  private withheld = 0;
  /** ACKs released together by one journal commit, sent a few at a time (see pacedSend). */
  private paced: { reply: DhcpPacket; to: { address: string; port: number } }[] = [];
  private pacedHead = 0;
  private pacedTimer: NodeJS.Timeout | undefined;
  /** Whether anyone subscribes to packet events, re-read every second (checked twice per packet). */
  private packetEvents = false;
  private eventsTimer: NodeJS.Timeout | undefined;
  private badPackets = 0;
  private sendErrors = 0;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Runtime) private readonly runtime: RuntimeOptions,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.DataDir) private readonly dataDir: string,
    @inject(TOKENS.LabNames) private readonly labNames: LabNames,
  ) {
    this.cfg = serviceConfig<DhcpConfig>(config, 'dhcp');
    this.log = logger.child({ service: 'dhcp' });
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const c = this.cfg;
    if (!c.interface) throw refused('no interface named: set services.dhcp.interface or start with --dhcp-interface IF (DHCP serves only that interface)');
    const subnet = parseCidr(c.subnet)!;
    // An interface may carry several addresses (the lab's and the school's, say): the one inside the
    // subnet is the server's, whichever the kernel lists first (Kea picks it the same way).
    const iface = lookupInterface(c.interface, (a) => inSubnet(subnet, ipToInt(a)));
    if (typeof iface === 'string') throw refused(iface);
    if (!iface.address) {
      throw refused(
        `interface ${iface.name} has no address inside services.dhcp.subnet ${subnet.text} (it has ${iface.addresses.join(', ')}); ` +
          `refusing to hand out addresses for another network. Name the lab interface, set the subnet to the one it is on, ` +
          `or add an address inside it (e.g. \`ip addr add ${intToIp(subnet.network + 1)}/${subnet.prefix} dev ${iface.name}\`).`,
      );
    }
    const serverIp = ipToInt(iface.address);
    try {
      loadBindDevice();
    } catch (err) {
      throw refused((err as Error).message);
    }
    this.iface = iface;

    const reservations = new Map<string, Reservation>();
    for (const r of c.reservations)
      reservations.set(normaliseMac(r.mac)!, { mac: normaliseMac(r.mac)!, ip: ipToInt(r.ip), ...(r.hostname ? { hostname: r.hostname } : {}) });
    const router = c.router ? ipToInt(c.router) : undefined;
    // No DNS configured and the lab DNS runs on port 53 here: clients get it (core/lab-names.ts).
    const labDns = c.dns.length === 0 ? labDnsAddressFor(this.config, this.runtime.portOffset, iface.address) : undefined;
    const dns = labDns ? [ipToInt(labDns)] : c.dns.map(ipToInt);
    const excluded = new Set<number>([serverIp, ...[...reservations.values()].map((r) => r.ip), ...(router !== undefined ? [router] : []), ...dns]);
    const index = new FreeAddressIndex(ipToInt(c.range[0]), ipToInt(c.range[1]), excluded);
    let store!: LeaseStore; // eslint-disable-line prefer-const -- assigned by the journal's callback below
    const journal = new LeaseJournal(
      join(this.dataDir, 'dhcp', 'leases.journal'),
      (records) => records > DHCP_LIMITS.minCompactRecords && records > DHCP_LIMITS.compactFactor * Math.max(1, store.size),
      () => store.records(),
      (err) => this.journalFailed(err),
    );
    store = new LeaseStore(index, journal);
    const loaded = journal.load();
    if (loaded.skipped) this.log.warn(`lease journal: ${loaded.skipped} unreadable record(s) skipped`);
    store.restore(loaded.records, this.clock.now());
    await journal.open();
    this.journal = journal;
    this.store = store;
    for (const r of store.records()) this.syncName(r.ip);
    this.server = new DhcpServer(
      {
        serverIp,
        subnet,
        ...(router !== undefined ? { router } : {}),
        dns,
        domain: c.domain || this.config.domain,
        leaseSeconds: c.leaseSeconds,
        declineSeconds: c.declineSeconds,
        offerHoldMs: DHCP_LIMITS.offerHoldMs,
        serverPort: c.port,
        reservations,
        authoritative: c.authoritative,
        rateLimit: c.rateLimit,
        poolWarnPercent: c.poolWarnPercent,
      },
      store,
    );

    if (!this.runtime.flags.dhcpForce && c.probeMs > 0) {
      let answers;
      try {
        answers = await probeForDhcpServers({
          ifname: iface.name,
          ifaddr: iface.address,
          mac: iface.mac,
          timeoutMs: c.probeMs,
          serverPort: c.port,
          onPacket: (direction, p, peer) => this.packetEvent(direction, p, peer),
        });
      } catch (err) {
        await journal.close();
        throw refused(`the check for another DHCP server on ${iface.name} failed: ${(err as Error).message} (--dhcp-force skips it)`);
      }
      if (answers.length > 0) {
        await journal.close();
        const names = answers.map((a) => `${a.serverId ?? a.from}${a.serverId && a.serverId !== a.from ? ` (from ${a.from})` : ''} offered ${a.offered}`);
        throw refused(
          `another DHCP server answers on ${iface.name}: ${[...new Set(names)].join('; ')}. ` +
            `Two DHCP servers on one network hand out conflicting addresses; stop the other one, or pass --dhcp-force to serve anyway.`,
        );
      }
    }

    try {
      // Receiving: every DHCP datagram for port 67, but only those that came in on the lab interface.
      this.recvSocket = await openUdpSocket({ service: 'dhcp', address: '0.0.0.0', port: c.port, reuseAddr: true, recvBufferSize: 4 << 20 });
      bindSocketToDevice(this.recvSocket, iface.name);
      // Sending (and unicast to our address): bound to the interface's address with SO_BROADCAST.
      this.sendSocket = await openUdpSocket({
        service: 'dhcp',
        label: 'dhcp-send',
        address: iface.address,
        port: c.port,
        reuseAddr: true,
        broadcast: true,
        recvBufferSize: 1 << 20,
        sendBufferSize: 4 << 20,
      });
      bindSocketToDevice(this.sendSocket, iface.name);
      this.sendSocket.on('error', (err) => {
        this.sendErrors++;
        this.log.debug(`send failed: ${err.message}`);
      });
    } catch (err) {
      this.recvSocket?.close();
      this.sendSocket?.close();
      await journal.close();
      throw err;
    }
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => this.onDatagram(msg, rinfo);
    this.recvSocket.on('message', onMessage);
    this.sendSocket.on('message', onMessage);
    this.sweepTimer = setInterval(() => store.sweep(this.clock.now()), DHCP_LIMITS.sweepIntervalMs);
    this.sweepTimer.unref();
    this.packetEvents = this.events.wants('packet');
    this.eventsTimer = setInterval(() => (this.packetEvents = this.events.wants('packet')), 1000);
    this.eventsTimer.unref();
    this.state = 'running';
    const counts = store.counts(this.clock.now());
    this.log.info(
      `serving DHCP on ${iface.name} (${iface.address}) for ${subnet.text}, pool ${c.range[0]}-${c.range[1]} (${counts.pool} addresses, ${counts.bound} leases restored)`,
    );
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const decoded = decodePacket(msg);
    if (!decoded.ok) {
      this.badPackets++;
      this.log.debug(`dropped a datagram from ${rinfo.address}:${rinfo.port}: ${decoded.reason}`);
      return;
    }
    const p = decoded.packet;
    if (this.packetEvents) this.packetEvent('in', p, { address: rinfo.address, port: rinfo.port });
    let out;
    try {
      out = this.server!.handle(p, this.clock.now());
    } catch (err) {
      // A bug must cost one packet, never the service.
      this.log.error({ err }, `error handling ${summarise(p)}`);
      return;
    }
    const type = messageType(p);
    if (type === MSG.RELEASE || type === MSG.DECLINE) this.syncName(type === MSG.RELEASE ? p.ciaddr : (optionIp(p, OPT.requestedAddress) ?? 0));
    if (out.notice) this.notice(out.notice.kind, out.notice.kind === 'unknown-client' ? 'info' : 'warn', out.notice.message);
    if (!out.reply || !out.to) {
      // The summary is built only when debug logging is on (a flood of dropped requests costs no string work).
      if (out.note && this.log.isLevelEnabled('debug')) this.log.debug(`${summarise(p)}: ${out.note}`);
      return;
    }
    const reply = out.reply;
    const to = out.to;
    if (out.durable) {
      out.durable.then(
        () => {
          this.syncName(reply.yiaddr);
          this.pacedSend(reply, to);
        },
        () => {
          // RFC 2131 lets a server stay silent: the client retransmits, and a renewing client keeps the
          // lease it has (recorded until its old expiry). A NAK would take its address away.
          this.withheld++;
          this.log.debug(`${summarise(p)}: no ACK, its lease could not be recorded`);
        },
      );
    } else this.send(reply, to);
  }

  /** The lab DNS's name for `ip` follows its lease: the client's host name while bound, nothing otherwise. */
  private syncName(ip: number): void {
    const lease = this.store?.get(ip);
    if (lease?.state === 'bound' && lease.hostname) this.labNames.set(intToIp(ip), lease.hostname, lease.expires);
    else this.labNames.remove(intToIp(ip));
  }

  private send(reply: DhcpPacket, to: { address: string; port: number }): void {
    const socket = this.sendSocket;
    if (!socket) return;
    // No per-datagram callback (it costs a closure per reply): a failed send is an 'error' event.
    socket.send(encodePacket(reply), to.port, to.address);
    if (this.packetEvents) this.packetEvent('out', reply, to);
  }

  /**
   * One journal commit releases every ACK that waited for it at once: hundreds of datagrams in a
   * burst overflow the receive buffer of a client that is not scheduled at that moment (seen with
   * perfdhcp on a busy machine). They go out DHCP_LIMITS.ackBurst (or an eighth of the queue)
   * at a time, one burst per millisecond timer tick.
   */
  private pacedSend(reply: DhcpPacket, to: { address: string; port: number }): void {
    this.paced.push({ reply, to });
    if (!this.pacedTimer) this.drainPaced();
  }

  private drainPaced(): void {
    this.pacedTimer = undefined;
    // A long queue (the process was not scheduled for a while) drains in about eight ticks.
    const burst = Math.max(DHCP_LIMITS.ackBurst, Math.ceil((this.paced.length - this.pacedHead) / 8));
    const end = Math.min(this.paced.length, this.pacedHead + burst);
    for (; this.pacedHead < end; this.pacedHead++) {
      const item = this.paced[this.pacedHead];
      this.send(item.reply, item.to);
    }
    if (this.pacedHead < this.paced.length) {
      this.pacedTimer = setTimeout(() => this.drainPaced(), 1);
    } else {
      this.paced = [];
      this.pacedHead = 0;
    }
  }

  private packetEvent(direction: 'in' | 'out', p: DhcpPacket, peer: { address: string; port: number }): void {
    if (this.state === 'running' ? !this.packetEvents : !this.events.wants('packet')) return;
    this.events.publish({ type: 'packet', service: 'dhcp', direction, peer, summary: summarise(p), fields: describePacket(p) });
  }

  /** Logs and publishes a notice, at most one of each kind per DHCP_LIMITS.exhaustedWarnIntervalMs. */
  private notice(kind: string, level: 'info' | 'warn' | 'error', message: string): void {
    const now = this.clock.now();
    if (now - (this.lastNotice.get(kind) ?? -Infinity) < DHCP_LIMITS.exhaustedWarnIntervalMs) return;
    this.lastNotice.set(kind, now);
    this.log[level](message);
    this.events.publish({ type: 'notice', service: 'dhcp', level, message, detail: { kind } });
  }

  private journalFailed(err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : `${e.code ?? ''} ${e.message}`.trim();
    this.log.debug({ err }, 'lease journal write failed');
    this.notice(
      'journal',
      'error',
      `DHCP: the lease journal ${this.journal?.path ?? ''} cannot be written: ${why}. No lease is ACKed until it can be; free space to recover.`,
    );
  }

  async stop(): Promise<void> {
    this.state = 'stopping';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.eventsTimer) clearInterval(this.eventsTimer);
    // ACKs already durable still go out before the sockets close.
    if (this.pacedTimer) clearTimeout(this.pacedTimer);
    while (this.pacedHead < this.paced.length) this.drainPaced();
    for (const s of [this.recvSocket, this.sendSocket]) {
      if (!s) continue;
      await new Promise<void>((r) => {
        try {
          s.close(() => r());
        } catch {
          r();
        }
      });
    }
    this.recvSocket = this.sendSocket = undefined;
    await this.journal?.close();
    this.state = 'stopped';
  }

  listeners(): ListenerInfo[] {
    if (!this.iface || this.state !== 'running') return [];
    return [{ name: 'dhcp', protocol: 'udp', address: `${this.iface.address}%${this.iface.name}`, port: this.cfg.port }];
  }

  /** The durable leases (bound, released, declined) as the journal would write them, at most 10,000. */
  private leaseTable(): Array<{ mac: string; address: string; hostname?: string; state: string; expiresAt: number }> {
    const out: Array<{ mac: string; address: string; hostname?: string; state: string; expiresAt: number }> = [];
    if (!this.store) return out;
    for (const r of this.store.records()) {
      if (out.length >= 10_000) break;
      if (!r.mac) continue;
      out.push({ mac: r.mac, address: intToIp(r.ip), ...(r.hostname ? { hostname: r.hostname } : {}), state: r.state, expiresAt: r.expires });
    }
    return out;
  }

  status(): ServiceStatus {
    const now = this.clock.now();
    return {
      name: this.name,
      state: this.state,
      listeners: this.listeners(),
      detail: {
        interface: this.iface?.name,
        // The server's own hardware address (its probe for other DHCP servers uses it as chaddr).
        mac: this.iface?.mac,
        subnet: this.cfg.subnet,
        range: this.cfg.range,
        leases: this.store?.counts(now),
        counters: this.server?.counters,
        badPackets: this.badPackets,
        sendErrors: this.sendErrors,
        journal: this.journal
          ? { records: this.journal.records, syncs: this.journal.syncs, failures: this.journal.failures, acksWithheld: this.withheld }
          : undefined,
        // The lease table as the journal keeps it (what the live lab shows at start), built only when called.
        leaseTable: () => this.leaseTable(),
      },
    };
  }
}
