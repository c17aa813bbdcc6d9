// Every SMTP limit in one place, with the RFC that sets it.
export const LIMITS = {
  /** RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets including CRLF. */
  commandLine: 512,
  /**
   * Extensions lengthen MAIL/RCPT lines: SIZE adds 26 (RFC 1870 section 3), AUTH= up to 500
   * (RFC 4954 section 5), BODY= and SMTPUTF8 a few more (RFC 6152, RFC 6531 section 3.4).
   */
  mailCommandExtra: 26 + 500 + 20 + 10,
  /** RFC 4954 section 4: an AUTH command or response line may be up to 12288 octets. */
  authLine: 12288,
  /** RFC 5321 section 4.5.3.1.1-3. */
  localPart: 64,
  domain: 255,
  path: 256,
  /** RFC 5321 section 4.5.3.1.8: a server must accept at least 100 recipients; we accept exactly that. */
  recipients: 100,
  /** Unrecognised or malformed commands before the session is ended with 421 (Postfix's smtpd_hard_error_limit). */
  badCommands: 20,
  /** Failed AUTH attempts before 421 (each failure may be retried, RFC 4954 section 6). */
  authFailures: 5,
  /** Octets read per BDAT chunk step (streaming, not buffering, big chunks). */
  bdatReadChunk: 256 * 1024,
} as const;

/** RFC 5321 section 4.5.3.2: server-side timeouts (configurable, a lab may shorten them). */
export const DEFAULT_TIMEOUTS = {
  /** 4.5.3.2.7 Server Timeout: waiting for the next command. */
  commandMs: 5 * 60_000,
  /** 4.5.3.2.5 Data Block: between data octets during DATA/BDAT. */
  dataBlockMs: 3 * 60_000,
} as const;

/** The longest command line accepted for a command name (CRLF included). */
export function maxCommandLine(name: string): number {
  if (name === 'AUTH') return LIMITS.authLine;
  if (name === 'MAIL' || name === 'RCPT') return LIMITS.commandLine + LIMITS.mailCommandExtra;
  return LIMITS.commandLine;
}
