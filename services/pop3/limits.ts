// Every POP3 limit in one place, with the RFC numbers they come from. The service config may raise or
// lower the session limits (idle timeout, errors); the line lengths are protocol constants.

export const POP3_LIMITS = {
  /**
   * Longest command line we accept, without CRLF. RFC 2449 section 4 makes servers accept at least
   * 255 octets including CRLF; we take 512 so that a PASS with a long lab password still fits.
   */
  maxCommandLine: 512,
  /**
   * Longest SASL client response line (RFC 5034 section 4: responses after a "+ " challenge may be
   * longer than a command line; PLAIN needs authzid, authcid and password, base64-encoded).
   */
  maxSaslResponse: 4096,
  /** Longest argument we look at as a message number (RFC 1939: decimal; nine digits is plenty). */
  maxMessageNumberDigits: 9,
  /**
   * Inactivity autologout. RFC 1939 section 3: if a server has one, it MUST be at least 10 minutes.
   * On expiry the connection is closed without a reply and without entering UPDATE.
   */
  minRfcIdleTimeoutMs: 10 * 60_000,
  defaultIdleTimeoutMs: 10 * 60_000,
  /** -ERR replies (unknown or malformed commands, wrong state, bad numbers, failed logins) before we hang up. */
  defaultMaxErrors: 20,
  /** A whole message goes out in one write up to this size; bigger ones are streamed in chunks. */
  wholeMessageMax: 256 * 1024,
  /**
   * Messages up to this size are read from the store with one blocking read (a few microseconds for
   * a page-cached file, against four thread-pool round trips for an asynchronous read).
   */
  blockingReadMax: 64 * 1024,
  /** Chunk size when streaming a large message. */
  streamChunk: 64 * 1024,
  /** Responses (first line, capability lines) stay within RFC 2449 section 4's 512 octets with CRLF. */
  maxResponseLine: 510,
} as const;
