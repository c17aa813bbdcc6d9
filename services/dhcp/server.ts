// The DHCP server state machine (RFC 2131 section 4.3): one decoded request in, at most one reply out,
// with where it goes (section 4.1). No sockets here: dhcp-service.ts receives, calls `handle` and sends.
import { DHCP_CLIENT_PORT, DHCP_LIMITS } from './limits.js';
import { inSubnet, intToIp, macToString, type Subnet } from './ipv4.js';
import { LeaseStore, hwKey, ownedBy, type ClientIdentity, type Lease } from './lease-store.js';
import { RateLimiter, type RateLimitSettings } from './rate-limit.js';
import { BROADCAST_FLAG, messageType, optionIp, optionText, type DhcpPacket } from './packet.js';
import { MESSAGE_NAMES, MSG, OPT, defaultRouteOption, ipOption, ipsOption, u32Option } from './options.js';

export interface Reservation {
  mac: string;
  ip: number;
  hostname?: string;
}

export interface DhcpSettings {
  serverIp: number;
  subnet: Subnet;
  router?: number;
  dns: number[];
  domain?: string;
  leaseSeconds: number;
  declineSeconds: number;
  offerHoldMs: number;
  serverPort: number;
  /** By normalised MAC. */
  reservations: Map<string, Reservation>;
  /**
   * RFC 2131 4.3.2 leaves a server silent when it has no record of a client that asks to keep an
   * address (INIT-REBOOT, RENEWING, REBINDING). Authoritative: NAK it instead, so the client starts
   * over at once (Kea's `authoritative`, dnsmasq's `dhcp-authoritative`). Neither ever ACKs it.
   */
  authoritative?: boolean;
  rateLimit?: RateLimitSettings;
  /** A notice when this share of the pool (percent) is in use; 0: none. */
  poolWarnPercent?: number;
}

export type NoticeKind = 'exhausted' | 'nearly-exhausted' | 'rate-client' | 'rate-total' | 'unknown-client';

export interface Outcome {
  /** The reply and where it goes; absent when nothing is sent. */
  reply?: DhcpPacket;
  to?: { address: string; port: number };
  /** Resolves when what the reply promises is durable (an ACK's binding). */
  durable?: Promise<void>;
  /** Why the request got no reply or was dropped (debug log). */
  note?: string;
  /** Something the instructor should see (pool exhausted or nearly, rate limit hit); the service rate-limits them by kind. */
  notice?: { kind: NoticeKind; message: string };
}

export const LIMITED_BROADCAST = '255.255.255.255';

export class DhcpServer {
  private readonly reservedIps: Map<number, Reservation>;
  /** OFFER/ACK options built once (server id, lease time, T1, T2, mask, router, DNS, domain, broadcast). */
  private readonly leaseOptions: Map<number, Uint8Array>;
  /** The same without the lease times (RFC 2131 4.3.5: INFORM). */
  private readonly informOptions: Map<number, Uint8Array>;
  private readonly classlessRoutes: Uint8Array | undefined;
  private readonly limiter: RateLimiter | undefined;
  /** Whether the "nearly exhausted" notice was given and not yet re-armed (usage fell below the threshold). */
  private nearlyExhausted = false;
  counters = {
    received: 0,
    dropped: 0,
    offers: 0,
    acks: 0,
    naks: 0,
    declines: 0,
    releases: 0,
    informs: 0,
    exhausted: 0,
    rateLimited: 0,
    unknownClients: 0,
  };

  constructor(
    readonly settings: DhcpSettings,
    readonly store: LeaseStore,
  ) {
    this.reservedIps = new Map([...settings.reservations.values()].map((r) => [r.ip, r]));
    const s = settings;
    const common = new Map<number, Uint8Array>();
    common.set(OPT.subnetMask, ipOption(s.subnet.mask));
    if (s.router !== undefined) common.set(OPT.router, ipOption(s.router));
    if (s.dns.length) common.set(OPT.dnsServers, ipsOption(s.dns));
    if (s.domain) common.set(OPT.domainName, Buffer.from(s.domain, 'latin1'));
    common.set(OPT.broadcastAddress, ipOption(s.subnet.broadcast));
    this.leaseOptions = new Map<number, Uint8Array>([
      [OPT.serverId, ipOption(s.serverIp)],
      [OPT.leaseTime, u32Option(s.leaseSeconds)],
      [OPT.renewalTime, u32Option(Math.floor(s.leaseSeconds / 2))],
      [OPT.rebindingTime, u32Option(Math.floor((s.leaseSeconds * 7) / 8))],
      ...common,
    ]);
    this.informOptions = new Map<number, Uint8Array>([[OPT.serverId, ipOption(s.serverIp)], ...common]);
    this.classlessRoutes = s.router !== undefined ? defaultRouteOption(s.router) : undefined;
    const rl = s.rateLimit;
    this.limiter = rl && (rl.perMacPerSecond > 0 || rl.totalPerSecond > 0) ? new RateLimiter(rl) : undefined;
  }

  handle(p: DhcpPacket, now: number): Outcome {
    this.counters.received++;
    const type = messageType(p);
    if (p.op !== 1) return this.drop(`op ${p.op} is not BOOTREQUEST`);
    if (type === undefined) return this.drop('no DHCP message type (plain BOOTP is not served)');
    if (p.hlen === 0 && !p.options.has(OPT.clientId)) return this.drop('no hardware address and no client identifier');
    // RFC 2131 4.3.1: a relayed request is for the relay's network; labnet has a pool for one subnet only.
    if (p.giaddr !== 0 && !inSubnet(this.settings.subnet, p.giaddr))
      return this.drop(`relayed from ${intToIp(p.giaddr)}, outside ${this.settings.subnet.text}`);
    const who = this.identify(p);
    if (this.limiter) {
      const verdict = this.limiter.take(who.mac || who.key, now);
      if (verdict !== 'ok') return this.rateLimited(who.mac || who.key, verdict);
    }
    switch (type) {
      case MSG.DISCOVER:
        return this.discover(p, who, now);
      case MSG.REQUEST:
        return this.request(p, who, now);
      case MSG.DECLINE:
        return this.declineMsg(p, who, now);
      case MSG.RELEASE:
        return this.releaseMsg(p, who, now);
      case MSG.INFORM:
        return this.inform(p);
      default:
        return this.drop(`message type ${MESSAGE_NAMES[type] ?? type} is not a client message`);
    }
  }

  /** RFC 2131 4.2 / RFC 2132 9.14: the client identifier when sent, else the hardware address. */
  clientKey(p: DhcpPacket): string {
    return this.identify(p).key;
  }

  /** Who sent `p`: its key and, for the hardware-address fallback (lease-store.ts), its hardware key. */
  identify(p: DhcpPacket): ClientIdentity {
    const mac = macToString(p.chaddr, p.hlen);
    const hw = hwKey(p.htype, mac);
    const id = p.options.get(OPT.clientId);
    if (id && id.length > 0) return { key: `id:${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')}`, hasId: true, hw, mac };
    return { key: hw || `hw:${p.htype}:`, hasId: false, hw, mac };
  }

  private reservationFor(p: DhcpPacket): Reservation | undefined {
    if (this.settings.reservations.size === 0 || p.htype !== 1 || p.hlen !== 6) return undefined;
    return this.settings.reservations.get(macToString(p.chaddr, 6));
  }

  /** Whether `ip` may be this client's: its reservation, or a pool address nobody else holds. */
  private allowed(ip: number, who: ClientIdentity, reservation: Reservation | undefined, now: number): boolean {
    if (reservation) return ip === reservation.ip && this.store.availableFor(ip, who, now, true);
    if (this.reservedIps.has(ip)) return false;
    return this.store.availableFor(ip, who, now, false);
  }

  // RFC 2131 4.3.1: the client's reservation, its current or previous address, the requested address,
  // else a free one.
  private discover(p: DhcpPacket, who: ClientIdentity, now: number): Outcome {
    const reservation = this.reservationFor(p);
    let ip: number | undefined;
    if (reservation) {
      if (this.allowed(reservation.ip, who, reservation, now)) ip = reservation.ip;
    } else {
      const mine = this.store.find(who);
      const requested = optionIp(p, OPT.requestedAddress);
      if (mine && mine.state !== 'declined' && this.allowed(mine.ip, who, undefined, now)) ip = mine.ip;
      else if (requested !== undefined && this.allowed(requested, who, undefined, now)) ip = requested;
      else ip = this.store.nextFree(now);
    }
    if (ip === undefined) {
      this.counters.exhausted++;
      return {
        note: 'no address to offer',
        notice: {
          kind: 'exhausted',
          message: `DHCP pool exhausted: no address to offer ${who.mac || who.key} (${this.store.index.size} addresses in the pool)`,
        },
      };
    }
    this.store.offer(ip, who, this.clientHostname(p, reservation), now + this.settings.offerHoldMs, now);
    this.counters.offers++;
    const out = this.reply(p, MSG.OFFER, ip, reservation);
    this.checkPoolUsage(out);
    return out;
  }

  /**
   * RFC 2131 4.3.2. Which state the client is in follows from the server identifier, the requested
   * address and ciaddr (Table 4). An address is bound only on the strength of a record of this client:
   * our offer (SELECTING), or its lease, remembered lease or reservation (INIT-REBOOT, RENEWING,
   * REBINDING). A client the server has no record of is never granted an address by a REQUEST.
   */
  private request(p: DhcpPacket, who: ClientIdentity, now: number): Outcome {
    const reservation = this.reservationFor(p);
    const serverId = optionIp(p, OPT.serverId);
    const requested = optionIp(p, OPT.requestedAddress);
    if (serverId !== undefined) {
      // SELECTING: the client answers one OFFER; if not ours, our offer is withdrawn.
      if (serverId !== this.settings.serverIp) {
        this.store.dropOffer(who);
        return this.drop(`REQUEST for server ${intToIp(serverId)}`);
      }
      const ip = requested ?? p.ciaddr;
      if (ip === 0) return this.drop('REQUEST (selecting) without a requested address');
      // "in response to a DHCPOFFER" (4.3.2): only the address we offered this client (or the lease it
      // already holds there) is ACKed; a lapsed, withdrawn or never-made offer gets a NAK.
      const mine = this.store.find(who);
      if (!mine || mine.ip !== ip || mine.state === 'declined') return this.nak(p, `${intToIp(ip)} was not offered to this client`);
      if (!this.allowed(ip, who, reservation, now)) return this.nak(p, `${intToIp(ip)} is not available to this client`);
      return this.ack(p, ip, who, reservation, now);
    }
    if (requested !== undefined && p.ciaddr === 0) return this.verify(p, 'INIT-REBOOT', requested, who, reservation, now);
    // RENEWING (unicast) or REBINDING (broadcast): extend the lease on ciaddr if it is this client's.
    if (p.ciaddr !== 0) return this.verify(p, 'RENEWING/REBINDING', p.ciaddr, who, reservation, now);
    return this.drop('REQUEST without server identifier, requested address or ciaddr');
  }

  /**
   * RFC 2131 4.3.2 for a client that asks to keep `ip` (INIT-REBOOT: the requested address; RENEWING
   * and REBINDING: ciaddr). In order:
   * - on the wrong network: NAK ("SHOULD send a DHCPNAK ... if the 'requested IP address' is ... on
   *   the wrong network");
   * - the client's notion is wrong: NAK ("If not, then the server SHOULD send a DHCPNAK"); it is
   *   wrong when the client's record (lease, remembered lease or reservation) is for another address,
   *   or when the address is held by another client;
   * - no record of this client: silence ("If the DHCP server has no record of this client, then it MUST
   *   remain silent, and MAY output a warning"), or a NAK when `authoritative`; never an ACK;
   * - otherwise ACK, extending the lease (REBINDING: "MAY extend a client's lease only if it has local
   *   administrative authority", which labnet has for its own records).
   */
  private verify(p: DhcpPacket, state: string, ip: number, who: ClientIdentity, reservation: Reservation | undefined, now: number): Outcome {
    const subnet = this.settings.subnet;
    if (!inSubnet(subnet, ip)) return this.nak(p, `${intToIp(ip)} is not on this network (${subnet.text})`);
    const record: Lease | Reservation | undefined = reservation ?? this.knownLease(who);
    if (record) {
      if (record.ip !== ip) return this.nak(p, `${intToIp(ip)} is not this client's address`);
      if (!this.allowed(ip, who, reservation, now)) return this.nak(p, `${intToIp(ip)} is not available to this client`);
      return this.ack(p, ip, who, reservation, now);
    }
    if (this.store.heldByOther(ip, who, now) || this.reservedIps.has(ip)) return this.nak(p, `${intToIp(ip)} belongs to another client`);
    this.counters.unknownClients++;
    const why = `${state} REQUEST for ${intToIp(ip)} from ${who.mac || who.key}, a client with no lease here`;
    if (this.settings.authoritative) return this.nak(p, `${why} (authoritative: NAK)`);
    this.counters.dropped++;
    return { note: `${why}: no answer (RFC 2131 4.3.2)`, notice: { kind: 'unknown-client', message: `DHCP: ${why}; not answered (RFC 2131 4.3.2)` } };
  }

  /** The client's lease or remembered lease, if any (a declined address is nobody's). */
  private knownLease(who: ClientIdentity): Lease | undefined {
    const lease = this.store.find(who);
    return lease && lease.state !== 'declined' ? lease : undefined;
  }

  // RFC 2131 4.3.3: the address is in use elsewhere; keep it out of the pool for a while.
  private declineMsg(p: DhcpPacket, who: ClientIdentity, now: number): Outcome {
    const serverId = optionIp(p, OPT.serverId);
    if (serverId !== undefined && serverId !== this.settings.serverIp) return this.drop(`DECLINE for server ${intToIp(serverId)}`);
    const ip = optionIp(p, OPT.requestedAddress);
    if (ip === undefined) return this.drop('DECLINE without a requested address');
    const lease = this.store.get(ip);
    if (!lease || !ownedBy(lease, who)) return this.drop(`DECLINE of ${intToIp(ip)}, which is not this client's`);
    this.store.decline(lease, now + this.settings.declineSeconds * 1000);
    this.counters.declines++;
    return { note: `${intToIp(ip)} declined: out of the pool for ${this.settings.declineSeconds} s` };
  }

  // RFC 2131 4.3.4: the client gives its address back (remembered, so it gets it again if still free).
  private releaseMsg(p: DhcpPacket, who: ClientIdentity, now: number): Outcome {
    const serverId = optionIp(p, OPT.serverId);
    if (serverId !== undefined && serverId !== this.settings.serverIp) return this.drop(`RELEASE for server ${intToIp(serverId)}`);
    const lease = this.store.get(p.ciaddr);
    if (!lease || !ownedBy(lease, who) || (lease.state !== 'bound' && lease.state !== 'offered'))
      return this.drop(`RELEASE of ${intToIp(p.ciaddr)}, which is not this client's`);
    this.store.release(lease, now);
    this.counters.releases++;
    return { note: `${intToIp(p.ciaddr)} released` };
  }

  // RFC 2131 4.3.5: configuration only; no lease time, no yiaddr, sent to ciaddr. Only for addresses
  // of the served subnet: the reply goes to ciaddr, and an INFORM naming any other address would make
  // labnet send datagrams wherever a student points it.
  private inform(p: DhcpPacket): Outcome {
    if (p.ciaddr === 0) return this.drop('INFORM without ciaddr');
    if (!inSubnet(this.settings.subnet, p.ciaddr)) return this.drop(`INFORM from ${intToIp(p.ciaddr)}, outside ${this.settings.subnet.text}`);
    this.counters.informs++;
    return this.reply(p, MSG.ACK, 0, this.reservationFor(p), true);
  }

  private ack(p: DhcpPacket, ip: number, who: ClientIdentity, reservation: Reservation | undefined, now: number): Outcome {
    const hostname = this.clientHostname(p, reservation);
    const durable = this.store.bind(ip, who, hostname, now + this.settings.leaseSeconds * 1000);
    this.counters.acks++;
    const out = this.reply(p, MSG.ACK, ip, reservation);
    out.durable = durable;
    this.checkPoolUsage(out);
    return out;
  }

  /** Adds the "nearly exhausted" notice when usage crosses the threshold (re-armed once it falls below). */
  private checkPoolUsage(out: Outcome): void {
    const percent = this.settings.poolWarnPercent ?? 0;
    const index = this.store.index;
    if (percent <= 0 || index.size === 0) return;
    const used = index.size - index.freeCount;
    const over = used * 100 >= percent * index.size;
    if (!over) {
      this.nearlyExhausted = false;
      return;
    }
    if (this.nearlyExhausted) return;
    this.nearlyExhausted = true;
    out.notice = {
      kind: 'nearly-exhausted',
      message: `DHCP pool nearly exhausted: ${used} of ${index.size} addresses in use (${Math.floor((used * 100) / index.size)}%, notice at ${percent}%)`,
    };
  }

  private rateLimited(client: string, verdict: 'client' | 'total'): Outcome {
    this.counters.rateLimited++;
    this.counters.dropped++;
    const rl = this.settings.rateLimit!;
    const message =
      verdict === 'client'
        ? `DHCP: ${client} sends more than ${rl.perMacPerSecond} messages/s (services.dhcp.rateLimit.perMacPerSecond); extra ones are not answered`
        : `DHCP: clients send more than ${rl.totalPerSecond} messages/s together (services.dhcp.rateLimit.totalPerSecond); extra ones are not answered`;
    return { note: `rate limited (${verdict})`, notice: { kind: verdict === 'client' ? 'rate-client' : 'rate-total', message } };
  }

  private nak(p: DhcpPacket, why: string): Outcome {
    this.counters.naks++;
    const options = new Map<number, Uint8Array>([
      [OPT.messageType, TYPE_BYTES[MSG.NAK]],
      [OPT.serverId, ipOption(this.settings.serverIp)],
      [OPT.message, Buffer.from(why.slice(0, 200), 'latin1')],
    ]);
    const id = p.options.get(OPT.clientId);
    if (id) options.set(OPT.clientId, id);
    const reply = this.header(p, 0, 0, options);
    // RFC 2131 4.1: a NAK through a relay has the broadcast bit set; otherwise it is broadcast.
    if (p.giaddr !== 0) {
      reply.flags |= BROADCAST_FLAG;
      return { reply, to: { address: intToIp(p.giaddr), port: this.settings.serverPort }, note: why };
    }
    return { reply, to: { address: LIMITED_BROADCAST, port: DHCP_CLIENT_PORT }, note: why };
  }

  private drop(note: string): Outcome {
    this.counters.dropped++;
    return { note };
  }

  private clientHostname(p: DhcpPacket, reservation: Reservation | undefined): string | undefined {
    if (reservation?.hostname) return reservation.hostname;
    const h = optionText(p, OPT.hostName);
    return h ? h.slice(0, 63) : undefined;
  }

  private header(p: DhcpPacket, ciaddr: number, yiaddr: number, options: Map<number, Uint8Array>): DhcpPacket {
    return {
      op: 2,
      htype: p.htype,
      hlen: p.hlen,
      hops: 0,
      xid: p.xid,
      secs: 0,
      flags: p.flags,
      ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: p.giaddr,
      chaddr: p.chaddr,
      sname: EMPTY_SNAME,
      file: EMPTY_FILE,
      options,
    };
  }

  /**
   * OFFER/ACK with options: message type first, then what the client's Parameter Request List asks
   * for in its order (RFC 2131 4.3.1), then server identifier, lease time, mask and the other
   * configured options the client did not list.
   */
  private reply(p: DhcpPacket, type: number, yiaddr: number, reservation: Reservation | undefined, inform = false): Outcome {
    const available = inform ? this.informOptions : this.leaseOptions;
    const prl = p.options.get(OPT.parameterRequestList);
    const options = new Map<number, Uint8Array>([[OPT.messageType, TYPE_BYTES[type]]]);
    const hostname = reservation?.hostname ? Buffer.from(reservation.hostname, 'latin1') : undefined;
    if (prl) {
      for (const code of prl) {
        if (options.has(code)) continue;
        // Option 121 replaces option 3 for clients that ask for it (RFC 3442 section 3), so it is
        // only ever sent when asked for, and always with the default route in it.
        const v = code === OPT.classlessRoutes ? this.classlessRoutes : code === OPT.hostName ? hostname : available.get(code);
        if (v) options.set(code, v);
      }
    }
    for (const [code, v] of available) if (!options.has(code)) options.set(code, v);
    if (hostname && !options.has(OPT.hostName)) options.set(OPT.hostName, hostname);
    // RFC 6842: echo the client identifier.
    const id = p.options.get(OPT.clientId);
    if (id) options.set(OPT.clientId, id);

    const ciaddr = type === MSG.ACK ? p.ciaddr : 0;
    const reply = this.header(p, ciaddr, yiaddr, options);
    return { reply, to: this.destination(p) };
  }

  /**
   * RFC 2131 4.1: to the relay on the server port; to ciaddr when the client has an address (renew,
   * inform); otherwise broadcast. Unicast to yiaddr before the client has configured it needs a raw
   * socket or an ARP entry, which Node cannot make, so those replies are broadcast: every client
   * accepts them.
   */
  private destination(p: DhcpPacket): { address: string; port: number } {
    if (p.giaddr !== 0) return { address: intToIp(p.giaddr), port: this.settings.serverPort };
    if (p.ciaddr !== 0) return { address: intToIp(p.ciaddr), port: DHCP_CLIENT_PORT };
    return { address: LIMITED_BROADCAST, port: DHCP_CLIENT_PORT };
  }

  get limits() {
    return DHCP_LIMITS;
  }
}

const EMPTY_SNAME = new Uint8Array(64);
const TYPE_BYTES: Record<number, Uint8Array> = Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8].map((t) => [t, Uint8Array.of(t)]));
const EMPTY_FILE = new Uint8Array(128);
