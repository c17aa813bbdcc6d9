// Every limit of the test-suite API (in-process and REST) in one place, with why it is what it is.
export const MAIL_API_LIMITS = {
  /** Parsed messages kept in memory (raw + parsed text/HTML/attachments counted as 2x the raw size). */
  parsedCacheBytes: 64 * 1024 * 1024,
  /** A message larger than this is parsed each time it is asked for, never cached. */
  parsedCacheMaxMessageBytes: 8 * 1024 * 1024,
  /** Messages up to this size are read with one blocking read (page-cached: microseconds). */
  blockingReadBytes: 128 * 1024,
  /**
   * waitFor keeps the octets of messages delivered while it waits (from the delivery notice) up to
   * this many bytes, and each up to the second figure, so a match is parsed without reading its file
   * back; past them the file is read.
   */
  freshContentBytes: 16 * 1024 * 1024,
  freshContentMaxMessageBytes: 1024 * 1024,
  /** Messages parsed at once (mailparser holds a whole message in memory while it works). */
  parseConcurrency: 4,
  /** Header lines returned per message (a hostile message may carry thousands). */
  maxHeaderLines: 1000,
  /** Attachments returned per message. */
  maxAttachments: 500,
  /** HTML longer than this is not converted to text (mailparser's html-to-text is super-linear on deep trees). */
  maxHtmlToTextBytes: 2 * 1024 * 1024,
  /** mailparser: largest header block and MIME children per node it reads. */
  maxHeadBytes: 2 * 1024 * 1024,
  maxChildNodes: 1000,
  /** waitFor: at most this many messages and this long (a test that waits longer has another problem). */
  maxWaitCount: 100_000,
  maxWaitMs: 10 * 60 * 1000,
  defaultWaitMs: 10_000,
  /** REST: messages per page (default and most), the longest query value, the largest JSON body. */
  defaultPageSize: 100,
  maxPageSize: 1000,
  maxQueryValueLength: 1024,
  maxJsonBodyBytes: 16 * 1024,
  /** REST: concurrent delivery streams (server-sent events), and the heartbeat that keeps them open. */
  maxEventStreams: 32,
  heartbeatMs: 15_000,
  /** A stream whose client stops reading is closed once this much is waiting to be sent. */
  maxStreamBacklogBytes: 1024 * 1024,
  /** A failed HTTP Basic login waits this long before the answer (slows password guessing). */
  failedLoginDelayMs: 300,
} as const;
