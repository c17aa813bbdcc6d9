// POP3 replies. A status line is "+OK text" or "-ERR [CODE] text"; RFC 2449 section 8 adds the
// bracketed response codes (IN-USE, LOGIN-DELAY, SYS/TEMP, SYS/PERM) and RFC 3206 adds AUTH.
// A handler that refuses a command throws Pop3Error; the session turns it into one -ERR line.

export type RespCode = 'AUTH' | 'IN-USE' | 'SYS/TEMP' | 'SYS/PERM';

/** Stable codes for why a command was refused (events, tests). */
export type Pop3ErrorCode =
  | 'UNKNOWN_COMMAND'
  | 'WRONG_STATE'
  | 'BAD_SYNTAX'
  | 'LINE_TOO_LONG'
  | 'NO_SUCH_MESSAGE'
  | 'MESSAGE_DELETED'
  | 'AUTH_FAILED'
  | 'AUTH_THROTTLED'
  | 'AUTH_CANCELLED'
  | 'AUTH_MECHANISM'
  | 'MAILDROP_LOCKED'
  | 'MAILDROP_UNAVAILABLE'
  | 'UPDATE_FAILED'
  | 'TLS_REQUIRED'
  | 'TLS_ACTIVE'
  | 'TLS_UNAVAILABLE';

export class Pop3Error extends Error {
  constructor(
    readonly code: Pop3ErrorCode,
    readonly text: string,
    readonly respCode?: RespCode,
    /** Counts towards the session's error limit (a failed QUIT commit does not). */
    readonly countsAsError = true,
  ) {
    super(text);
    this.name = 'Pop3Error';
  }

  get reply(): string {
    return errLine(this.text, this.respCode);
  }
}

/** core/throttle.ts refused a login without checking it: a temporary failure (RFC 2449 SYS/TEMP). */
export function throttledError(): Pop3Error {
  return new Pop3Error('AUTH_THROTTLED', 'too many failed logins from your address, try again later', 'SYS/TEMP');
}

export function okLine(text?: string): string {
  return text ? `+OK ${text}` : '+OK';
}

export function errLine(text: string, respCode?: RespCode): string {
  return respCode ? `-ERR [${respCode}] ${text}` : `-ERR ${text}`;
}

/**
 * A client-supplied value fit to quote in a reply: printable ASCII only (anything else becomes "?"),
 * at most `max` characters. A decoded SASL field may hold CR LF; echoed raw it would forge a reply.
 */
export function quoteable(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max)}...` : value;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

/** "1 message", "2 messages". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
