// IP addresses from their octets to text, for everything that reads addresses off the wire (the packet
// decoders, the lab DNS's AAAA data and reverse names, recvmmsg source addresses).

/** Dotted-decimal IPv4 from four octets at `at`. */
export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * IPv6 from 16 octets at `at`, in RFC 5952 canonical form: lower case, leading zeros dropped, and the
 * longest run of two or more zero groups (the first if tied, section 4.2.3) written as "::".
 */
export function formatIpv6(b: Uint8Array, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
