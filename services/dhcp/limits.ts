// DHCP limits, with the RFC numbers they come from.
export const DHCP_LIMITS = {
  /** RFC 2131 section 2: the fixed BOOTP header is 236 octets, then the 4-octet magic cookie. */
  headerLength: 236,
  minRequestLength: 240,
  /** Replies are padded to the BOOTP minimum of 300 octets (RFC 951; RFC 2131 section 2 "minimum 300"). */
  minReplyLength: 300,
  /** A request is dropped above this (no Ethernet DHCP packet comes close; RFC 2131 allows up to 576 unless option 57 says more). */
  maxPacketLength: 4096,
  /** RFC 2131 section 2: chaddr is 16 octets. */
  maxHardwareLength: 16,
  /** Largest reply we build without option overload: the default maximum message size (RFC 2132 9.10). */
  maxReplyLength: 576,
  /** How long an OFFER holds its address for the client (RFC 2131 4.3.1 "reserve the address"). */
  offerHoldMs: 30_000,
  /** How often expired offers, leases and declines are swept back into the free index. */
  sweepIntervalMs: 10_000,
  /** Journal records past this many times the live leases (and past minCompactRecords) trigger compaction. */
  compactFactor: 4,
  minCompactRecords: 10_000,
  /** ACKs sent per millisecond tick after a journal commit (dhcp-service.ts pacedSend). */
  ackBurst: 32,
  /** Rate of each kind of notice (pool exhausted or nearly, rate limit hit, journal failing). */
  exhaustedWarnIntervalMs: 10_000,
  /** Clients whose request rate is tracked at once (rate-limit.ts; least recently seen dropped first). */
  rateLimitMaxClients: 10_000,
} as const;

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** RFC 2131 section 3: 99.130.83.99. */
export const MAGIC_COOKIE = 0x63825363;
