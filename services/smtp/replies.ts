// Every SMTP reply labnet sends, by name: code (RFC 5321 section 4.2), enhanced status code (RFC 3463;
// RFC 2034 puts one on every 2xx, 4xx and 5xx reply except the greeting and HELO/EHLO) and text. The
// commands, the session, the address parser, the recipient policy and the connection-level replies
// (idle timeout, too busy, shutting down) all take their replies from here; nothing else writes one.

export interface SmtpReply {
  readonly code: number;
  /** RFC 3463 code, or null where RFC 2034 wants none (greeting, HELO/EHLO, 354, 334). */
  readonly enhanced: string | null;
  readonly text: string | readonly string[];
}

function reply(code: number, enhanced: string | null, text: string | readonly string[]): SmtpReply {
  return { code, enhanced, text };
}

/** The usage shown by 501 for each command's argument count. */
const SYNTAX: Readonly<Record<string, string>> = {
  HELO: 'HELO hostname',
  EHLO: 'EHLO hostname',
  MAIL: 'MAIL FROM:<address>',
  RCPT: 'RCPT TO:<address>',
  DATA: 'DATA',
  BDAT: 'BDAT size [LAST]',
  RSET: 'RSET',
  QUIT: 'QUIT',
  VRFY: 'VRFY address',
  AUTH: 'AUTH mechanism [initial-response]',
  STARTTLS: 'STARTTLS',
};

export const REPLY = {
  // ---- the connection ----
  greeting: (host: string) => reply(220, null, `${host} ESMTP labnet`),
  idleTimeout: (host: string) => reply(421, '4.4.2', `${host} Error: timeout exceeded`),
  shuttingDown: (host: string) => reply(421, '4.3.2', `${host} Service shutting down`),
  tooBusy: (host: string) => reply(421, '4.7.0', `${host} Error: too many connections, try again later`),
  internalError: (host: string) => reply(421, '4.3.0', `${host} Error: internal error, closing connection`),
  tooManyErrors: (host: string) => reply(421, '4.7.0', `${host} Error: too many errors`),
  tlsOnPlainPort: (host: string) =>
    reply(421, '4.7.0', `${host} TLS handshake received on a plain SMTP port: connect without TLS and use STARTTLS, or use the SMTPS port`),
  httpOnSmtpPort: (host: string) => reply(554, '5.7.0', `${host} This is an SMTP server, not a web server: HTTP requests are not served on this port`),

  // ---- the command loop ----
  lineTooLong: reply(500, '5.5.2', 'Line too long'),
  unknownCommand: reply(500, '5.5.2', 'Error: command not recognized'),
  syntax: (name: string) => reply(501, '5.5.4', `Syntax: ${SYNTAX[name] ?? name}`),
  sendHeloFirst: reply(503, '5.5.1', 'Error: send HELO/EHLO first'),
  nestedMail: reply(503, '5.5.1', 'Error: nested MAIL command'),
  needMail: reply(503, '5.5.1', 'Error: need MAIL command'),
  needRcpt: reply(503, '5.5.1', 'Error: need RCPT command'),
  badSequence: reply(503, '5.5.1', 'Error: bad sequence of commands'),

  // ---- HELO, EHLO, HELP, NOOP, RSET, VRFY, QUIT ----
  helo: (host: string) => reply(250, null, host),
  ehlo: (lines: readonly string[]) => reply(250, null, lines),
  help: (domain: string) =>
    reply(214, '2.0.0', [
      'labnet SMTP: commands HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP AUTH',
      `Mail for <user>@${domain} is delivered; mail for other domains is captured, never relayed`,
      'See RFC 5321',
    ]),
  ok: reply(250, '2.0.0', 'Ok'),
  cannotVrfy: reply(252, '2.0.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  bye: reply(221, '2.0.0', 'Bye'),

  // ---- STARTTLS (RFC 3207) ----
  tlsNotAvailable: reply(454, '4.7.0', 'TLS not available'),
  readyToStartTls: reply(220, '2.0.0', 'Ready to start TLS'),

  // ---- AUTH (RFC 4954) ----
  authChallenge: (base64: string) => reply(334, null, base64),
  authNeedsEhlo: reply(503, '5.5.1', 'Error: send EHLO first'),
  alreadyAuthenticated: reply(503, '5.5.1', 'Error: already authenticated'),
  /** RFC 3207 section 4: a server that requires TLS answers 530 until STARTTLS. */
  tlsRequiredForAuth: reply(530, '5.7.0', 'Must issue a STARTTLS command first'),
  authAborted: reply(501, '5.7.0', 'Authentication aborted'),
  authLineTooLong: reply(500, '5.5.6', 'Line too long'),
  badBase64: reply(501, '5.5.2', 'Cannot decode the base64 response'),
  unknownMechanism: (mech: string) => reply(504, '5.5.4', `Unrecognized authentication type ${mech}`),
  authFailed: reply(535, '5.7.8', 'Error: authentication failed'),
  /** RFC 4954 section 6: a temporary failure (here: too many failed logins from this address, core/throttle.ts). */
  authThrottled: reply(454, '4.7.0', 'Temporary authentication failure: too many failed logins, try again later'),
  tooManyAuthFailures: (host: string) => reply(421, '4.7.0', `${host} Error: too many failed authentications`),
  authenticated: reply(235, '2.7.0', 'Authentication successful'),

  // ---- MAIL (RFC 5321 section 4.1.1.2, RFC 1870, RFC 6152, RFC 6531, RFC 6409) ----
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  badSize: reply(501, '5.5.4', 'Bad SIZE parameter'),
  declaredSizeTooBig: (max: number) => reply(552, '5.3.4', `Message size exceeds fixed maximum message size (${max})`),
  unsupportedBody: (value: string | undefined) => reply(555, '5.5.4', `Unsupported BODY type ${value ?? ''}`.trim()),
  smtputf8TakesNoValue: reply(501, '5.5.4', 'SMTPUTF8 takes no value'),
  unsupportedParameter: (key: string) => reply(555, '5.5.4', `Unsupported parameter ${key}`),
  senderNeedsSmtputf8: reply(553, '5.6.7', 'Non-ASCII sender address needs the SMTPUTF8 parameter'),
  senderOk: reply(250, '2.1.0', 'Ok'),

  // ---- MAIL/RCPT path syntax (RFC 5321 section 4.1.2) ----
  pathSyntax: (keyword: 'FROM' | 'TO') => reply(501, '5.5.4', `Syntax: ${keyword === 'FROM' ? 'MAIL FROM:<address>' : 'RCPT TO:<address>'}`),
  pathNeedsBrackets: (keyword: 'FROM' | 'TO') => reply(501, keyword === 'FROM' ? '5.1.7' : '5.1.3', 'Path must be enclosed in angle brackets <...>'),
  pathUnclosed: (keyword: 'FROM' | 'TO') => reply(501, keyword === 'FROM' ? '5.1.7' : '5.1.3', 'Missing ">" at the end of the path'),
  pathTooLong: (max: number) => reply(501, '5.1.3', `Path longer than ${max} octets`),
  badSourceRoute: reply(501, '5.1.3', 'Bad source route in the path'),
  spaceBeforeParameters: reply(501, '5.5.4', 'Expected a space before the parameters'),
  malformedParameter: (p: string) => reply(501, '5.5.4', `Malformed parameter "${p.slice(0, 40)}"`),
  parameterTwice: (key: string) => reply(501, '5.5.4', `Parameter ${key} given twice`),
  emptyRecipient: reply(501, '5.1.3', 'An empty recipient <> is not allowed'),
  badAddress: (keyword: 'FROM' | 'TO') =>
    reply(501, keyword === 'FROM' ? '5.1.7' : '5.1.3', `Bad ${keyword === 'FROM' ? 'sender' : 'recipient'} address syntax`),

  // ---- RCPT (RFC 5321 section 4.1.1.3) and the recipient policy ----
  tooManyRecipients: reply(452, '4.5.3', 'Error: too many recipients'),
  recipientNeedsSmtputf8: reply(553, '5.6.7', 'Non-ASCII recipient address needs SMTPUTF8 in MAIL FROM'),
  recipientOk: reply(250, '2.1.5', 'Ok'),
  recipientCaptured: (catchAll: string) => reply(250, '2.1.5', `Ok (not relayed: captured in the ${catchAll} mailbox)`),
  recipientCreated: reply(250, '2.1.5', 'Ok (mailbox created on delivery)'),
  relayDenied: (shown: string) => reply(554, '5.7.1', `${shown}: Relay access denied`),
  unknownUser: (shown: string) => reply(550, '5.1.1', `${shown}: Recipient address rejected: User unknown in local recipient table`),

  // ---- DATA (RFC 5321 section 4.1.1.4) and BDAT (RFC 3030) ----
  startData: reply(354, null, 'End data with <CR><LF>.<CR><LF>'),
  dataAfterBdat: reply(503, '5.5.1', 'Error: DATA cannot follow BDAT in one transaction'),
  chunkReceived: (size: number) => reply(250, '2.0.0', `${size} octets received`),
  /** SIZE (RFC 1870 section 6): the message read to its end was over the limit; the session goes on. */
  messageTooBig: (max: number) => reply(552, '5.3.4', `Error: message exceeds fixed maximum message size (${max})`),
  queued: (queueId: string) => reply(250, '2.0.0', `Ok: queued as ${queueId}`),
  deliveryFailed: reply(451, '4.3.0', 'Error: local delivery failed, try again later'),
  /** The mail store's answers (core/mail-store OVER_QUOTA, NO_SPACE): RFC 3463 X.2.2 mailbox full, X.3.1 system storage. */
  mailboxFull: reply(452, '4.2.2', 'Mailbox full (over quota), try again later'),
  messageOverQuota: reply(552, '5.2.2', 'Message larger than the mailbox quota'),
  insufficientStorage: reply(452, '4.3.1', 'Insufficient system storage, try again later'),
} as const;

/** Formats reply lines: `250-a`, `250-b`, `250 c`, each with the enhanced code when there is one. */
export function formatReply(r: SmtpReply): string[] {
  const texts = typeof r.text === 'string' ? [r.text] : r.text.length === 0 ? [''] : r.text;
  const esc = r.enhanced;
  return texts.map((t, i) => {
    const sep = i === texts.length - 1 ? ' ' : '-';
    const line = `${r.code}${sep}${esc !== null ? `${esc} ${t}` : t}`;
    // RFC 4954 section 4: a challenge is "334" SP base64, and an empty one (PLAIN) keeps its space.
    return r.code === 334 ? line : line.trimEnd();
  });
}

/** One line of a reply as text (the connection-level replies are single lines). */
export function replyLine(r: SmtpReply): string {
  return formatReply(r).join('\r\n');
}
