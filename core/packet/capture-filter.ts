// The capture filter (libpcap syntax, compiled by the capture tool into BPF so the kernel hands over
// nothing else): the lab's own TCP and UDP ports, DHCP, ARP, ICMP errors about those ports, and, when
// asked, ping and IPv4 fragments to or from the lab's own addresses. Nothing outside the lab is ever
// captured. The thinned filter keeps only what the ladders need when the traffic is over the budget:
// SYN, FIN and RST segments, DHCP and ARP.

export interface FilterInput {
  tcpPorts: readonly number[];
  udpPorts: readonly number[];
  /** The lab's addresses on the capture interface (ping and fragments to or from them). */
  addresses: readonly string[];
  /** Include ping (ICMP echo) and IPv4 fragments for the lab's addresses. */
  icmp: boolean;
}

const portList = (ports: readonly number[]): string => ports.map((p) => `port ${p}`).join(' or ');

/** ICMP error types that quote a datagram (RFC 792): unreachable, source quench, redirect, time exceeded, parameter problem. */
const ICMP_ERRORS = [3, 4, 5, 11, 12];

/** An ICMP error whose quoted UDP/TCP header names one of `ports` (IPv4: the quote starts at icmp[8]). */
function icmpErrorsAbout(ports: readonly number[]): string {
  if (ports.length === 0) return '';
  const quoteTransport = '8 + ((icmp[8] & 0x0f) << 2)';
  const types = ICMP_ERRORS.map((t) => `icmp[0] == ${t}`).join(' or ');
  const matches = ports.map((p) => `icmp[${quoteTransport}:2] == ${p} or icmp[${quoteTransport} + 2:2] == ${p}`).join(' or ');
  return `(icmp and (${types}) and (${matches}))`;
}

function unique(ports: readonly number[]): number[] {
  return [...new Set(ports.filter((p) => Number.isInteger(p) && p > 0 && p < 65536))].sort((a, b) => a - b);
}

export function captureFilter(input: FilterInput, thin = false): string {
  const tcp = unique(input.tcpPorts);
  const udp = unique([...input.udpPorts, 67, 68]);
  const parts: string[] = ['arp', `(udp and (${portList(udp)}))`];
  if (tcp.length > 0) {
    if (thin) {
      // SYN, FIN or RST set: IPv4 reads the flags at tcp[13]; for IPv6 (no extension headers) at ip6[40 + 13].
      parts.push(`(tcp and (${portList(tcp)}) and ((ip and tcp[13] & 7 != 0) or (ip6 and ip6[53] & 7 != 0)))`);
    } else parts.push(`(tcp and (${portList(tcp)}))`);
  }
  const errors = icmpErrorsAbout([...tcp, ...udp]);
  if (errors) parts.push(errors);
  // ICMPv6 errors (types 1-4) quote the packet from ip6[48]; its ports follow the quoted 40-byte header.
  const v6Matches = [...tcp, ...udp].map((p) => `ip6[88:2] == ${p} or ip6[90:2] == ${p}`).join(' or ');
  parts.push(`(icmp6 and ip6[40] >= 1 and ip6[40] <= 4 and (${v6Matches}))`);
  const v4 = input.addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  const v6 = input.addresses.filter((a) => a.includes(':'));
  if (input.icmp && !thin) {
    if (v4.length > 0) {
      const hosts = v4.map((a) => `host ${a}`).join(' or ');
      parts.push(`(icmp and (icmp[0] == 0 or icmp[0] == 8) and (${hosts}))`);
      // Fragments after the first carry no ports: take those to or from the lab's addresses.
      parts.push(`(ip and ip[6:2] & 0x1fff != 0 and (${hosts}))`);
    }
    if (v6.length > 0) {
      const hosts = v6.map((a) => `host ${a.split('%')[0]}`).join(' or ');
      // ICMPv6 echo (128, 129) right after the fixed header.
      parts.push(`(icmp6 and (ip6[40] == 128 or ip6[40] == 129) and (${hosts}))`);
    }
  }
  return parts.join(' or ');
}
