// The host and port a visitor actually reached, for pages that print commands and server names
// (landing page, /ca, the mail setup documents). The Host header is the visitor's, so it is hostile:
// it is used only when it names the lab (the hostname, the domain, its service names mail, www,
// autoconfig and autodiscover, localhost, tls.extraNames) or one of this machine's own addresses;
// anything else falls back to the configured hostname. The port is the one the connection came in on
// (our end of the socket), never the one the header claims.
import { networkInterfaces } from 'node:os';
import { isIP, isIPv6 } from 'node:net';
import type { HttpExchange } from '../exchange.js';
import type { LabInfo } from '../site.js';

/** The service names under the lab domain that name this host (as the lab DNS answers them). */
export const HOST_SERVICE_LABELS = ['mail', 'www', 'autoconfig', 'autodiscover'] as const;

/** Longest Host header looked at (a DNS name is at most 253 octets, plus brackets and a port). */
const MAX_HOST_HEADER = 300;

export interface HostHeader {
  /** Lower-case name, or an IP address (IPv6 without brackets). */
  name: string;
  port?: number;
}

/** Parses `name`, `name:port`, `[v6]` or `[v6]:port`; undefined when it is none of these. */
export function parseHostHeader(value: string): HostHeader | undefined {
  if (value.length === 0 || value.length > MAX_HOST_HEADER) return undefined;
  let name: string;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return undefined;
    name = value.slice(1, close);
    if (!isIPv6(name)) return undefined;
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = value.indexOf(':');
    name = colon < 0 ? value : value.slice(0, colon);
    if (colon >= 0) portText = value.slice(colon + 1);
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (isIP(name) !== 4 && !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name)) return undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  return { name: canonicalIp(name.toLowerCase()), port };
}

function canonicalIp(name: string): string {
  return isIPv6(name) ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
}

/** The DNS names that are this lab's (lower case). */
export function labNames(lab: Pick<LabInfo, 'hostname' | 'domain' | 'extraNames'>): Set<string> {
  const domain = lab.domain.toLowerCase();
  const names = new Set<string>([lab.hostname.toLowerCase(), domain, 'localhost']);
  for (const l of HOST_SERVICE_LABELS) names.add(`${l}.${domain}`);
  for (const n of lab.extraNames ?? []) names.add(isIP(n) ? canonicalIp(n) : n.toLowerCase());
  return names;
}

let addressCache: { at: number; set: Set<string> } | undefined;

/** This machine's addresses (re-read at most every 5 s: a lab interface may come up after start). */
export function ownAddresses(now = Date.now()): Set<string> {
  if (addressCache && now - addressCache.at < 5_000) return addressCache.set;
  const set = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(canonicalIp(a.address.toLowerCase()));
  addressCache = { at: now, set };
  return set;
}

export interface ReachedHost {
  /** The name or address to print (lab.hostname when the header was missing or not the lab's). */
  name: string;
  /** `name` as it goes into a URL (IPv6 in brackets). */
  urlHost: string;
  /** The port the connection came in on. */
  port: number;
  scheme: 'http' | 'https';
  /** `scheme://urlHost[:port]`, the port left out when it is the scheme's default. */
  origin: string;
  /** True when the visitor's Host header was accepted. */
  fromHeader: boolean;
}

/** Whether `name` (from parseHostHeader) is one of the lab's names or this machine's addresses. */
export function isLabHost(lab: Pick<LabInfo, 'hostname' | 'domain' | 'extraNames'>, name: string): boolean {
  return isIP(name) ? ownAddresses().has(name) || labNames(lab).has(name) : labNames(lab).has(name);
}

export function urlHostOf(name: string): string {
  return isIPv6(name) ? `[${name}]` : name;
}

export function originOf(scheme: 'http' | 'https', name: string, port: number): string {
  const dflt = scheme === 'https' ? 443 : 80;
  return `${scheme}://${urlHostOf(name)}${port === dflt ? '' : `:${port}`}`;
}

export function reachedHost(lab: Pick<LabInfo, 'hostname' | 'domain' | 'extraNames'>, ex: HttpExchange): ReachedHost {
  const parsed = parseHostHeader(ex.req.host ?? '');
  const ok = parsed !== undefined && isLabHost(lab, parsed.name);
  const name = ok ? parsed.name : lab.hostname.toLowerCase();
  const scheme = ex.conn.tlsSocket ? 'https' : 'http';
  const port = ex.conn.local.port;
  return { name, urlHost: urlHostOf(name), port, scheme, origin: originOf(scheme, name, port), fromHeader: ok };
}
