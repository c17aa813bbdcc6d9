// services.dhcp in the config. The names interface, subnet, range, router, dns, domain,
// leaseSeconds and reservations are part of labnet's interface.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { serviceBaseSchema } from '../../core/config.js';
import { inSubnet, ipToInt, normaliseMac, parseCidr } from './ipv4.js';

const ipv4 = z.string().refine((s) => isIPv4(s), 'an IPv4 address such as 10.0.0.1');

const dhcpObject = serviceBaseSchema({ enabled: false, port: 67 })
  .extend({
    /** The lab interface; DHCP serves only there. Empty: DHCP stays off (--dhcp-interface IF). */
    interface: z.string().max(15).default(''),
    subnet: z
      .string()
      .refine((s) => parseCidr(s) !== undefined, 'a CIDR IPv4 subnet such as 10.0.0.0/24 (prefix 0-30)')
      .default('192.168.50.0/24'),
    range: z.tuple([ipv4, ipv4]).default(['192.168.50.100', '192.168.50.199']),
    router: ipv4.optional(),
    dns: z.array(ipv4).max(8).default([]),
    /** Domain name option (15); empty: the lab's `domain`. */
    domain: z.string().max(253).default(''),
    leaseSeconds: z.number().int().min(60).max(31_536_000).default(3600),
    /** How long a declined address stays out of the pool. */
    declineSeconds: z.number().int().min(1).max(31_536_000).default(600),
    /** How long the start-up check listens for another DHCP server. */
    probeMs: z.number().int().min(0).max(10_000).default(1500),
    /**
     * RFC 2131 4.3.2: a client asking to keep an address the server has no record of gets no answer
     * (false) or a NAK (true, for a lab where labnet is the only DHCP server); never an ACK.
     */
    authoritative: z.boolean().default(false),
    /** Client messages answered per second: per client MAC and for all clients together (0: no limit). */
    rateLimit: z
      .strictObject({
        perMacPerSecond: z.number().min(0).max(100_000).default(2),
        perMacBurst: z.number().int().min(1).max(1_000_000).default(10),
        totalPerSecond: z.number().min(0).max(1_000_000).default(1000),
        totalBurst: z.number().int().min(1).max(1_000_000).default(2000),
      })
      .default(() => ({ perMacPerSecond: 2, perMacBurst: 10, totalPerSecond: 1000, totalBurst: 2000 })),
    /** A notice when this percentage of the pool is in use (offered, leased or declined); 0: never. */
    poolWarnPercent: z.number().int().min(0).max(100).default(90),
    reservations: z
      .array(
        z.strictObject({
          mac: z.string().refine((s) => normaliseMac(s) !== undefined, 'a MAC address such as 02:00:00:00:00:01'),
          ip: ipv4,
          hostname: z
            .string()
            .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'a host name of letters, digits and "-"')
            .optional(),
        }),
      )
      .default([]),
  })
  .superRefine((c, ctx) => {
    const subnet = parseCidr(c.subnet);
    if (!subnet) return;
    const [first, last] = c.range.map((ip) => (isIPv4(ip) ? ipToInt(ip) : 0)) as [number, number];
    if (!inSubnet(subnet, first) || !inSubnet(subnet, last))
      ctx.addIssue({ code: 'custom', path: ['range'], message: `both ends inside the subnet ${subnet.text}` });
    else if (first > last) ctx.addIssue({ code: 'custom', path: ['range'], message: 'the first address not after the last' });
    if (c.router && !inSubnet(subnet, ipToInt(c.router)))
      ctx.addIssue({ code: 'custom', path: ['router'], message: `a router inside the subnet ${subnet.text}` });
    const macs = new Set<string>();
    const ips = new Set<string>();
    c.reservations.forEach((r, i) => {
      if (isIPv4(r.ip) && !inSubnet(subnet, ipToInt(r.ip)))
        ctx.addIssue({ code: 'custom', path: ['reservations', i, 'ip'], message: `an address inside the subnet ${subnet.text}` });
      const mac = normaliseMac(r.mac);
      if (mac && macs.has(mac)) ctx.addIssue({ code: 'custom', path: ['reservations', i, 'mac'], message: 'each MAC address reserved once' });
      if (ips.has(r.ip)) ctx.addIssue({ code: 'custom', path: ['reservations', i, 'ip'], message: 'each address reserved once' });
      if (mac) macs.add(mac);
      ips.add(r.ip);
    });
  });

/** Naming an interface turns DHCP on unless `enabled` says otherwise. */
export const dhcpConfigSchema = z.preprocess((input) => {
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    if (o.enabled === undefined && typeof o.interface === 'string' && o.interface !== '') return { ...o, enabled: true };
  }
  return input;
}, dhcpObject);

export type DhcpConfig = z.infer<typeof dhcpObject>;
