// DNS limits, with the RFC numbers they come from. Every length and count the parser reads from a
// message is checked against one of these before it is used.
export const DNS_LIMITS = {
  /** RFC 1035 section 4.1.1: the fixed header is 12 octets. */
  headerLength: 12,
  /** RFC 1035 section 2.3.4: a label is at most 63 octets (the two top bits of its length are type bits). */
  maxLabelLength: 63,
  /** RFC 1035 section 2.3.4: a name is at most 255 octets on the wire, length octets included. */
  maxNameLength: 255,
  /** A 255-octet name has at most 127 labels (each at least one octet plus its length octet). */
  maxLabels: 127,
  /**
   * Compression pointers followed while reading one name. Each must point before where the name (or
   * the part of it reached by the previous pointer) started, so a loop is impossible anyway; this
   * bounds the work of a long chain.
   */
  maxPointers: 64,
  /** RFC 1035 section 4.2.2: a TCP message has a 16-bit length prefix. */
  maxMessageLength: 65_535,
  /** RFC 1035 section 2.3.4: without EDNS a UDP message is at most 512 octets. */
  classicUdpSize: 512,
  /** RFC 6891 section 6.2.5: an advertised UDP payload size below 512 is taken as 512. */
  minEdnsUdpSize: 512,
  /** RFC 9619: a query carries exactly one question. */
  questionsPerQuery: 1,
  /**
   * Answer, authority and additional records a query may carry (normally none, or one OPT); past this
   * the query is FORMERR without reading further.
   */
  maxRecordsPerQuery: 16,
  /** RFC 6891 section 6.1.1: at most one OPT record. */
  maxOptRecords: 1,
  /** EDNS options read from one OPT record (cookie, padding, client subnet... a handful in practice). */
  maxEdnsOptions: 32,
  /** RFC 1035 section 3.3: a character-string is one length octet and at most 255 octets. */
  maxCharacterString: 255,
  /** Largest query accepted over TCP (a query is a few dozen octets; a bigger one is not a query). */
  maxTcpQueryLength: 4_096,
  /** Encoded answers kept for reuse (cleared whole when full, and whenever the zone changes). */
  answerCacheEntries: 4_096,
  /** Clients the rate limiter remembers; past it the least recently seen are forgotten. */
  rateLimitClients: 4_096,
  /** One "rate limited" notice per client per this many ms. */
  rateNoticeIntervalMs: 10_000,
  /** How often the service re-reads the machine's interfaces and the other services' ports. */
  refreshIntervalMs: 5_000,
} as const;

/** RFC 6891 section 6.2.5 and DNS Flag Day 2020: the UDP payload size we advertise and honour at most. */
export const DEFAULT_EDNS_UDP_SIZE = 1232;
