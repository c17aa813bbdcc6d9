// services.dns in the config. `enabled` and `port` are part of labnet's interface (the port moves with
// --port-offset like every other); the rest are this service's own keys.
import { isIP } from 'node:net';
import { z } from 'zod';
import { serviceBaseSchema } from '../../core/config.js';
import { parseSubnet } from './addresses.js';
import { DEFAULT_EDNS_UDP_SIZE } from './limits.js';

const address = z.string().refine((s) => isIP(s) !== 0, 'an IPv4 or IPv6 address such as 192.168.50.1');

export const dnsConfigSchema = serviceBaseSchema({ enabled: true, port: 53 }).extend({
  /** Addresses of the lab host's names; empty: this machine's own, each client given those on its network. */
  hostAddresses: z.array(address).max(64).default([]),
  /** Subnets whose reverse (PTR) names the lab answers; empty: the DHCP subnet and the host's networks. */
  reverseSubnets: z
    .array(
      z.string().refine((s) => {
        const n = parseSubnet(s);
        return n !== undefined && n.prefix >= (n.family === 4 ? 8 : 16);
      }, 'a subnet such as 192.168.50.0/24 (IPv4 prefix at least 8, IPv6 at least 16)'),
    )
    .max(16)
    .default([]),
  /** TTL of every answer, in seconds: short, so a renamed laptop or a new lease shows quickly. */
  ttl: z.number().int().min(0).max(86_400).default(60),
  /** How long resolvers may remember that a name does not exist (SOA minimum, RFC 2308). */
  negativeTtl: z.number().int().min(0).max(86_400).default(30),
  /** The EDNS UDP payload size advertised and the largest UDP answer sent (RFC 6891; 1232 avoids fragments). */
  ednsUdpSize: z.number().int().min(512).max(4096).default(DEFAULT_EDNS_UDP_SIZE),
  /** Queries per second each client address may send (UDP and TCP); 0: no limit. */
  rateLimitPerSecond: z.number().int().min(0).max(1_000_000).default(100),
  /** Queries a client may send at once before the per-second rate applies. */
  rateLimitBurst: z.number().int().min(1).max(1_000_000).default(200),
  /** A TCP connection with no query for this long is closed (RFC 7766 section 6.2.3: seconds, not minutes). */
  tcpIdleTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  tcpMaxConnections: z.number().int().min(1).max(10_000).default(100),
  tcpMaxConnectionsPerAddress: z.number().int().min(1).max(1_000).default(10),
  /**
   * How UDP datagrams are read and sent: 'batch' (recvmmsg/sendmmsg through the udp-batch addon),
   * 'dgram' (node:dgram), 'auto' (batch when the addon is built, else dgram).
   */
  udpTransport: z.enum(['auto', 'batch', 'dgram']).default('auto'),
});

export type DnsConfig = z.infer<typeof dnsConfigSchema>;
