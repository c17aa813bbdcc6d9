// The short note beside each transcript line: what an SMTP, POP3, IMAP or HTTP line means, in the
// words of the course (client and server, port, status code, command, header, TLS), and where the
// course notes are loose: they call SMTP "SNMP" and say POP3 deletes mail by itself. One table per
// protocol; a note quotes nothing the line carries but an IMAP tag (shown as text like everything).

/** What a transcript needs to remember to explain the next line (the last command, IMAP tags...). */
export class NoteContext {
  lastCommand = '';
  /** IMAP: tag -> command name, for the tagged answer (bounded: clients pipeline a few). */
  private readonly tags = new Map<string, string>();
  greeted = false;

  constructor(readonly service: string) {}

  rememberTag(tag: string, command: string): void {
    if (this.tags.size >= 64) this.tags.delete(this.tags.keys().next().value!);
    this.tags.set(tag, command);
  }

  commandForTag(tag: string): string | undefined {
    const c = this.tags.get(tag);
    this.tags.delete(tag);
    return c;
  }
}

/** The protocol a service speaks, for notes ('https' speaks HTTP, 'smtps' listeners SMTP). */
export function protocolOf(service: string): 'smtp' | 'pop3' | 'imap' | 'http' | 'other' {
  if (service === 'smtp' || service === 'pop3' || service === 'imap') return service;
  if (service === 'http' || service === 'https') return 'http';
  return 'other';
}

function firstWord(text: string): string {
  const sp = text.indexOf(' ');
  return (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
}

// ---- SMTP (RFC 5321) ----

const SMTP_COMMANDS: Record<string, string> = {
  EHLO: 'The client greets the server and gives its own name; EHLO (extended hello) asks for the list of extensions the server supports.',
  HELO: 'The old greeting without the extension list (EHLO is the extended one).',
  STARTTLS: 'Asks to switch this same TCP connection to TLS: after the 220 answer the TLS handshake starts and everything after it is encrypted.',
  AUTH: 'Logs in with a SASL mechanism (PLAIN, LOGIN...). The password travels base64-encoded, which is not encryption: that is why it belongs after STARTTLS. labnet never shows it.',
  MAIL: 'Starts one mail transaction: the envelope sender, where bounces go (it may differ from the From: header the reader sees).',
  RCPT: 'One envelope recipient; a message for three people needs three RCPT commands.',
  DATA: 'Asks to send the message itself: header lines, an empty line, then the body.',
  BDAT: 'Sends the message in chunks of a stated size (CHUNKING extension): no dot at the end needed.',
  RSET: 'Cancels the current mail transaction; the connection stays open.',
  NOOP: 'Does nothing: keeps the connection alive or checks that the server still answers.',
  VRFY: 'Asks whether a mailbox exists (most servers give a vague answer so that spammers learn nothing).',
  EXPN: 'Asks for the members of a mailing list (usually refused).',
  HELP: 'Asks the server for help text.',
  QUIT: 'The client says goodbye; the server answers 221 and closes the connection.',
};

const SMTP_REPLIES: Record<string, string> = {
  '211': 'System status.',
  '214': 'Help text.',
  '220':
    'The greeting: the SMTP server is ready (SMTP, the Simple Mail Transfer Protocol, TCP port 25; the course notes call it "SNMP", which is a different protocol, for managing network devices on UDP 161).',
  '221': 'The server says goodbye and closes the connection.',
  '235': 'Login accepted: this session now belongs to that user.',
  '250': 'OK: the requested action is done (2xx = success).',
  '251': 'OK, the server will forward the mail.',
  '252': 'The server cannot verify the user but will accept mail for it.',
  '334': 'The server waits for the next step of the login (a base64 prompt such as "Username:"); the answer is hidden here.',
  '354': 'Go ahead: send the message and end it with a line holding only "." (3xx = the server waits for more).',
  '421': 'The service is closing the connection (4xx = temporary: try again later).',
  '450': 'Mailbox busy or unavailable for now (4xx = temporary failure).',
  '451': 'The server had a local problem; try again later.',
  '452': 'Not enough space or too many recipients for now.',
  '454': 'TLS is not available right now.',
  '500': 'The server did not recognise the command, or the line was too long (5xx = permanent failure).',
  '501': 'The command is known but its arguments are wrong.',
  '502': 'That command is not implemented.',
  '503': 'Wrong order: for example RCPT before MAIL, or DATA before any RCPT.',
  '504': 'That parameter (for example an AUTH mechanism) is not supported.',
  '521': 'This host does not accept mail.',
  '523': 'The message is too big for this server.',
  '530': 'Log in first (AUTH), or switch to TLS first (STARTTLS).',
  '534': 'A stronger login mechanism is needed.',
  '535': 'Login refused: wrong user name or password.',
  '538': 'This login mechanism needs TLS first.',
  '550': 'Mailbox unavailable, or the server refuses to relay there (5xx = permanent: do not retry).',
  '551': 'The user is not local here.',
  '552': 'The message exceeds the size limit.',
  '553': 'The mailbox name is not allowed.',
  '554': 'Transaction failed, or the server refuses this client.',
  '555': 'A MAIL or RCPT parameter was not recognised.',
};

function smtpCommandNote(text: string, ctx: NoteContext): string {
  if (text.startsWith('<message data')) {
    return 'The message itself: header lines (From, To, Subject...), an empty line, the body. It ends with a line holding only "."; a line of the message that starts with "." is sent with an extra dot (dot-stuffing).';
  }
  if (text === '<redacted>') return 'The client answers the login prompt; labnet hides it (a password, even base64-encoded, is a secret).';
  const word = firstWord(text);
  ctx.lastCommand = word;
  if (word === 'HTTP' || /^(GET|POST|HEAD|PUT) /.test(text)) return 'An HTTP request sent to the SMTP port: the wrong protocol for this port.';
  return SMTP_COMMANDS[word] ?? 'A command this SMTP server does not know.';
}

function smtpReplyNote(text: string, ctx: NoteContext): string {
  const code = text.slice(0, 3);
  const multi = text.length > 3 && text[3] === '-';
  if (code === '220' && ctx.lastCommand === 'STARTTLS') {
    ctx.lastCommand = '';
    return 'Ready to start TLS: the next bytes on this connection are the TLS handshake (ClientHello first).';
  }
  if (code === '250' && (ctx.lastCommand === 'EHLO' || multi)) {
    if (ctx.lastCommand === 'EHLO')
      return 'The answer to EHLO: the first line greets back, each "250-" line after it names an extension (SIZE, STARTTLS, AUTH, PIPELINING...); the last line has a space after 250.';
  }
  if (code === '250' && ctx.lastCommand === 'DATA') return 'The message is accepted and stored: from now on the server is responsible for it.';
  if (code === '250' && ctx.lastCommand === 'BDAT') return 'The chunk is accepted (after the LAST chunk: the whole message is stored).';
  if (code === '220' && !ctx.greeted) {
    ctx.greeted = true;
    return SMTP_REPLIES['220'];
  }
  if (code === '220') return 'Service ready.';
  const cls = SMTP_CLASSES[text[0]];
  const known = SMTP_REPLIES[code];
  if (known) return known.includes('xx') || !cls ? known : `${known} (${cls})`;
  return cls ? `${cls[0].toUpperCase()}${cls.slice(1)}.` : '';
}

/** The first digit of an SMTP reply (RFC 5321 section 4.2.1). */
const SMTP_CLASSES: Record<string, string> = {
  '2': '2xx = success',
  '3': '3xx = the server waits for more',
  '4': '4xx = temporary failure: the client may try again later',
  '5': '5xx = permanent failure: do not retry unchanged',
};

// ---- POP3 (RFC 1939, RFC 2449, RFC 5034) ----

const POP3_COMMANDS: Record<string, string> = {
  USER: 'Names the mailbox to log in to; PASS with the password comes next.',
  PASS: 'The password for USER (hidden here). Sent in clear text unless the connection uses TLS (STLS or port 995).',
  APOP: "Logs in with an MD5 digest of the greeting's <...> timestamp and the password: the password itself never crosses the network.",
  AUTH: 'Logs in with a SASL mechanism (the payload is hidden here).',
  STAT: 'Asks how many messages there are and their total size in octets.',
  LIST: 'Asks for each message number and its size.',
  UIDL: 'Asks for a unique id per message that stays the same across sessions: how a client remembers which mail it already downloaded.',
  RETR: 'Downloads one whole message. The server keeps it: it is deleted only if the client also sends DELE.',
  TOP: 'Downloads the header lines of a message plus the first N lines of its body.',
  DELE: 'Marks a message for deletion. Nothing is removed until QUIT; RSET unmarks.',
  RSET: 'Unmarks every message marked with DELE in this session.',
  NOOP: 'Does nothing; checks that the server still answers.',
  QUIT: 'Ends the session. Only now (the UPDATE state) does the server remove the messages marked with DELE.',
  CAPA: 'Asks which extensions the server supports (TOP, UIDL, STLS, SASL...).',
  STLS: 'Asks to switch this connection to TLS; after +OK the TLS handshake starts.',
};

function pop3CommandNote(text: string, ctx: NoteContext): string {
  if (text === '<redacted>') return 'The client answers the login prompt; labnet hides it.';
  const word = firstWord(text);
  ctx.lastCommand = word;
  if (word === 'RETR')
    return 'Downloads one whole message. The server keeps it: POP3 deletes only what the client marks with DELE. (The course notes say mail is deleted from the server automatically: that is the client\'s choice, such as "leave messages on server" switched off, not the protocol\'s.)';
  return POP3_COMMANDS[word] ?? 'A command this POP3 server does not know.';
}

function pop3ReplyNote(text: string, ctx: NoteContext): string {
  const ok = text.startsWith('+OK');
  const multi = text.includes('\n');
  if (!ctx.greeted && ok) {
    ctx.greeted = true;
    return 'The greeting: the POP3 server (TCP port 110, 995 with TLS) is ready. +OK means success, -ERR failure; the <...> part is the timestamp APOP uses.';
  }
  if (text.startsWith('+ ')) return 'The server waits for the next step of the SASL login.';
  if (!ok) {
    if (ctx.lastCommand === 'PASS' || ctx.lastCommand === 'APOP' || ctx.lastCommand === 'AUTH')
      return '-ERR: login refused (wrong user name or password, or the mailbox is locked by another session).';
    return '-ERR: the command failed; the text says why.';
  }
  const c = ctx.lastCommand;
  if (c === 'STLS') return 'Ready for TLS: the TLS handshake starts now.';
  if (c === 'PASS' || c === 'APOP' || c === 'AUTH') return 'Logged in: the mailbox is locked for this session (TRANSACTION state).';
  if (c === 'STAT') return '+OK followed by the number of messages and their total size in octets.';
  if (c === 'DELE') return 'Marked for deletion; the message disappears only at QUIT.';
  if (c === 'QUIT') return 'Goodbye: messages marked with DELE are removed now.';
  if (c === 'RETR' || c === 'TOP') return 'The message follows; a line with only "." ends it (lines starting with "." get an extra dot).';
  if (multi || c === 'LIST' || c === 'UIDL' || c === 'CAPA') return 'A multi-line answer: one item per line, ended by a line with only ".".';
  return '+OK: success.';
}

// ---- IMAP (RFC 3501, RFC 9051) ----

const IMAP_COMMANDS: Record<string, string> = {
  CAPABILITY: 'Asks which extensions the server supports.',
  LOGIN: 'Logs in with user name and password (the password is hidden here).',
  AUTHENTICATE: 'Logs in with a SASL mechanism (the payload is hidden here).',
  STARTTLS: 'Asks to switch this connection to TLS; after the OK the TLS handshake starts.',
  SELECT: 'Opens a mailbox (folder) read-write: the server answers with how many messages it holds (EXISTS), the flags, UIDVALIDITY...',
  EXAMINE: 'Opens a mailbox read-only.',
  CREATE: 'Creates a mailbox.',
  DELETE: 'Deletes a mailbox.',
  RENAME: 'Renames a mailbox.',
  SUBSCRIBE: 'Adds a mailbox to the subscribed list.',
  UNSUBSCRIBE: 'Removes a mailbox from the subscribed list.',
  LIST: 'Lists mailboxes matching a pattern (* = everything).',
  LSUB: 'Lists subscribed mailboxes.',
  STATUS: 'Asks about a mailbox without opening it (MESSAGES, UNSEEN...).',
  APPEND: 'Uploads a message into a mailbox (how a client saves a copy in Sent).',
  CHECK: 'Asks the server to save the mailbox state.',
  CLOSE: 'Closes the mailbox and removes messages flagged \\Deleted.',
  UNSELECT: 'Closes the mailbox without removing anything.',
  EXPUNGE: 'Removes the messages flagged \\Deleted from the mailbox for good.',
  SEARCH: 'Asks for the numbers of messages matching criteria (FROM, SUBJECT, UNSEEN...); the server searches, not the client.',
  FETCH: 'Asks for parts of messages by sequence number: FLAGS, ENVELOPE, BODY[] (the whole message)...',
  STORE: 'Changes message flags, such as \\Seen (read) or \\Deleted (to be expunged).',
  COPY: 'Copies messages to another mailbox.',
  MOVE: 'Moves messages to another mailbox.',
  UID: 'The same command by UID: an id that stays the same for a message, unlike the sequence number, which shifts when messages are removed.',
  IDLE: 'The client waits and the server pushes changes (new mail as EXISTS, removals as EXPUNGE) the moment they happen; DONE ends it.',
  DONE: 'Ends IDLE.',
  NOOP: 'Does nothing, but lets the server report changes (new mail).',
  LOGOUT: 'Ends the session: the server answers BYE, then OK.',
  NAMESPACE: 'Asks how mailbox names are organised (prefix, hierarchy separator).',
  ID: 'Client and server tell each other their names and versions.',
  ENABLE: 'Switches on an extension for this session.',
};

function imapCommandNote(text: string, ctx: NoteContext): string {
  if (text === '<redacted>') return 'The client answers the login prompt; labnet hides it.';
  if (text.toUpperCase() === 'DONE') {
    ctx.lastCommand = 'DONE';
    return IMAP_COMMANDS.DONE;
  }
  const sp = text.indexOf(' ');
  if (sp < 0) return 'An IMAP command starts with a tag the client chooses, then the command name.';
  const tag = text.slice(0, sp);
  const rest = text.slice(sp + 1);
  let word = firstWord(rest);
  if (word === 'UID') {
    const second = firstWord(rest.slice(4));
    ctx.rememberTag(tag, `UID ${second}`);
    ctx.lastCommand = `UID ${second}`;
    return `"${short(tag)}" is the tag: the server's final answer to this command starts with it. ${IMAP_COMMANDS.UID} (UID ${second})`;
  }
  word = word.replace(/[^A-Z]/g, '');
  ctx.rememberTag(tag, word);
  ctx.lastCommand = word;
  const what = IMAP_COMMANDS[word] ?? 'A command this IMAP server does not know.';
  return `"${short(tag)}" is the tag: the final answer starts with it. ${what}`;
}

function short(s: string): string {
  return s.length > 12 ? `${s.slice(0, 12)}…` : s;
}

function imapReplyNote(text: string, ctx: NoteContext): string {
  if (!ctx.greeted && text.startsWith('* ')) {
    ctx.greeted = true;
    if (text.startsWith('* PREAUTH')) return 'The greeting: already logged in.';
    if (text.startsWith('* BYE')) return 'The server refuses the connection.';
    return 'The greeting: the IMAP server (TCP port 143, 993 with TLS) is ready. With IMAP the mail stays on the server and every client sees the same mailboxes; "*" marks an untagged line: information, not the end of a command.';
  }
  if (text.startsWith('+')) {
    if (ctx.lastCommand === 'IDLE') return 'Idling: the server will now push changes as they happen, until the client sends DONE.';
    if (ctx.lastCommand === 'AUTHENTICATE') return 'The server waits for the next step of the SASL login.';
    return 'Continuation: the server is ready for the rest of the command (a literal of the announced size).';
  }
  if (/^\d+ FETCH responses? \(/.test(text))
    return 'The data the client asked for: one untagged "* n FETCH (...)" answer per message. Message text travels as a literal: "{size}", then exactly that many octets (where the line offers "message data", open it to see the start of each).';
  if (text.startsWith('* ')) {
    const m = /^\* (\d+) (EXISTS|RECENT|EXPUNGE|FETCH)\b/i.exec(text);
    if (m) {
      const kind = m[2].toUpperCase();
      if (kind === 'EXISTS') return `The mailbox now holds ${m[1]} messages (when the number grows, new mail has arrived).`;
      if (kind === 'RECENT') return `${m[1]} messages arrived since the last time a client looked.`;
      if (kind === 'EXPUNGE') return `Message number ${m[1]} was removed; every message after it moves down by one number.`;
      return `Data for message number ${m[1]} (the parts the client asked for).`;
    }
    const word = firstWord(text.slice(2));
    const untagged: Record<string, string> = {
      OK: 'Untagged OK: information (such as UIDVALIDITY, UIDNEXT or PERMANENTFLAGS in brackets).',
      NO: 'Untagged NO: a warning.',
      BAD: 'Untagged BAD: the server could not parse something.',
      BYE: 'The server is about to close the connection.',
      CAPABILITY: 'The extensions this server supports.',
      FLAGS: 'The flags messages in this mailbox can have.',
      LIST: 'One mailbox: its attributes, the hierarchy separator and its name.',
      LSUB: 'One subscribed mailbox.',
      STATUS: 'The figures asked for about a mailbox.',
      SEARCH: 'The numbers of the messages that match.',
      ESEARCH: 'The search result (extended form).',
      NAMESPACE: "Personal, other users' and shared mailbox prefixes.",
      ID: "The server's name and version.",
      ENABLED: 'The extensions now switched on.',
    };
    return untagged[word] ?? 'Untagged data ("*"): information, not the end of a command.';
  }
  const sp = text.indexOf(' ');
  if (sp > 0) {
    const tag = text.slice(0, sp);
    const status = firstWord(text.slice(sp + 1));
    const cmd = ctx.commandForTag(tag);
    const forWhat = cmd ? ` to ${cmd}` : '';
    if (status === 'OK') {
      if (cmd === 'STARTTLS') return 'Ready for TLS: the TLS handshake starts now.';
      if (cmd === 'LOGIN' || cmd === 'AUTHENTICATE') return `The tagged answer${forWhat}: OK, logged in.`;
      return `The tagged answer${forWhat}: OK, the command is complete.`;
    }
    if (status === 'NO') return `The tagged answer${forWhat}: NO, the command failed (for example a wrong password or a missing mailbox).`;
    if (status === 'BAD') return `The tagged answer${forWhat}: BAD, the command was malformed or not allowed in this state.`;
  }
  return '';
}

// ---- HTTP (RFC 9110, RFC 9112) ----

const HTTP_METHODS: Record<string, string> = {
  GET: 'asks for a resource',
  HEAD: 'asks for the header fields only, without the body',
  POST: 'sends data (a form, JSON) for the server to process',
  PUT: 'stores the body under this path (create or replace)',
  DELETE: 'removes the resource',
  OPTIONS: 'asks which methods the resource allows',
  CONNECT: 'asks a proxy for a tunnel',
  TRACE: 'asks the server to echo the request back',
  PATCH: 'changes part of a resource',
};

const HTTP_STATUS: Record<string, string> = {
  '100': 'Continue: send the body.',
  '101': 'Switching protocols.',
  '200': 'OK: the response carries what was asked for.',
  '201': 'Created: the resource now exists (Location says where).',
  '204': 'No content: done, nothing to send back.',
  '206': 'Partial content: the requested byte range.',
  '301': 'Moved permanently: the Location field gives the new address.',
  '302': 'Found: look at the Location address for now.',
  '303': 'See other: fetch the Location address with GET.',
  '304': "Not modified: the browser's cached copy is still good, no body is sent.",
  '307': 'Temporary redirect (same method).',
  '308': 'Permanent redirect (same method).',
  '400': 'Bad request: the request was malformed.',
  '401': 'Unauthorized: log in first.',
  '403': 'Forbidden: the server refuses.',
  '404': 'Not found: nothing at this path.',
  '405': 'Method not allowed here (the Allow field lists the allowed ones).',
  '408': 'Request timeout: the request did not arrive in time.',
  '411': 'Length required: send a Content-Length.',
  '413': 'Content too large.',
  '414': 'The URI is too long.',
  '429': 'Too many requests: slow down.',
  '431': 'The request header fields are too large.',
  '500': 'Internal server error.',
  '501': 'Not implemented: the server does not know this method.',
  '503': 'Service unavailable: try later.',
  '505': 'HTTP version not supported.',
};

function httpCommandNote(text: string): string {
  const m = /^([A-Z]+) (\S+) HTTP\/(\d\.\d)$/.exec(text);
  if (!m) return 'Not a valid HTTP request line (method, target, version).';
  const what = HTTP_METHODS[m[1]] ?? 'a method this server does not know';
  return `A request: method ${m[1]} (${what}), the path, version HTTP/${m[3]}; header fields and an empty line follow. HTTP itself keeps no state between requests: cookies do.`;
}

function httpReplyNote(text: string): string {
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(text);
  if (!m) return '';
  const code = m[1];
  const known = HTTP_STATUS[code];
  const cls = ({ '1': 'information', '2': 'success', '3': 'redirect', '4': 'client error', '5': 'server error' } as Record<string, string>)[code[0]] ?? '';
  return `The status line: version, code, phrase (${code[0]}xx = ${cls}). ${known ?? ''}`.trim();
}

/** The note for a client line (command) of a session. */
export function commandNote(ctx: NoteContext, text: string): string {
  switch (protocolOf(ctx.service)) {
    case 'smtp':
      return smtpCommandNote(text, ctx);
    case 'pop3':
      return pop3CommandNote(text, ctx);
    case 'imap':
      return imapCommandNote(text, ctx);
    case 'http':
      return httpCommandNote(text);
    default:
      return '';
  }
}

/** The note for a server line (reply) of a session. */
export function replyNote(ctx: NoteContext, text: string): string {
  switch (protocolOf(ctx.service)) {
    case 'smtp':
      return smtpReplyNote(text, ctx);
    case 'pop3':
      return pop3ReplyNote(text, ctx);
    case 'imap':
      return imapReplyNote(text, ctx);
    case 'http':
      return httpReplyNote(text);
    default:
      return '';
  }
}
