// Every limit of the HTTP/1.1 engine in one place, with where the number comes from. The defaults are
// what a service uses unless its config says otherwise (see core/http/config.ts).

export interface HttpLimits {
  /** Whole request head (request line + header fields). RFC 9112 section 2.3 leaves it to us; nginx: 1k+4x8k. */
  maxHeadBytes: number;
  /** Request line (RFC 9112 section 3: at least 8000 octets SHOULD be supported); longer -> 414. */
  maxRequestLineBytes: number;
  /** Header fields per request; more -> 431 (RFC 6585 section 5). */
  maxHeaderCount: number;
  /** The whole head must arrive within this many ms of its first byte (slowloris), else 408 and close. */
  headerTimeoutMs: number;
  /** A keep-alive connection with no request in flight is closed after this many ms of silence. */
  keepAliveTimeoutMs: number;
  /** Largest request body /echo reads (and the default for other readers); more -> 413. */
  maxBodyBytes: number;
  /** Chunk-size line and each trailer line (RFC 9112 section 7.1). */
  maxChunkLineBytes: number;
  /** Trailer fields after the last chunk (RFC 9112 section 7.1.2). */
  maxTrailerCount: number;
  /** A body nobody read (405 on a POST, say) is read and thrown away up to this size; past it we close. */
  maxDiscardBytes: number;
  /** Files up to this size are kept in memory (revalidated with stat at most once a second). */
  cacheMaxFileBytes: number;
  /** Total octets the static file cache holds. */
  cacheMaxTotalBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeadBytes: 32 * 1024,
  maxRequestLineBytes: 8 * 1024,
  maxHeaderCount: 100,
  headerTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  maxBodyBytes: 10 * 1024 * 1024,
  maxChunkLineBytes: 4096,
  maxTrailerCount: 32,
  maxDiscardBytes: 1024 * 1024,
  cacheMaxFileBytes: 1024 * 1024,
  cacheMaxTotalBytes: 64 * 1024 * 1024,
};

/**
 * The connection settings every HTTP listener (plain or TLS) takes from its limits. Idle and slow
 * connections are closed by the engine's sweep (one for all, see HttpEngine), so no idle timer per
 * socket. A client may half-close after its request (`printf ... | nc -N`) and still read the answer.
 */
export function httpListenerOptions(limits: Pick<HttpLimits, 'maxRequestLineBytes' | 'maxHeadBytes'>): {
  idleTimeoutMs: number;
  maxLineLength: number;
  highWaterMark: number;
  allowHalfOpen: boolean;
} {
  return {
    idleTimeoutMs: 0,
    maxLineLength: limits.maxRequestLineBytes,
    highWaterMark: Math.max(64 * 1024, limits.maxHeadBytes + 2),
    allowHalfOpen: true,
  };
}

/** The methods the course names (RFC 9110 section 9.3). Anything else is answered 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
