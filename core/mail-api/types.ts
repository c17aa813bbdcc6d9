// The public types of the test-suite API (`lab.mail`, `lab.users`, the REST API's JSON). They are
// labnet's own, not the MIME library's, so a test suite needs no extra type packages.

/** One mailbox in an address field: `"Alice" <alice@lab.test>` is `{ name: 'Alice', address: 'alice@lab.test' }`. */
export interface MailAddress {
  /** The display name, decoded ('' when none). */
  name: string;
  /** The address ('' for an empty group). */
  address: string;
}

/** An address field (From, To, Cc, Bcc, Reply-To): the mailboxes, and the whole field as readable text. */
export interface AddressList {
  /** Every mailbox in the field, group members flattened. Empty when the field is absent. */
  value: MailAddress[];
  /** The field decoded to one line ('"Alice" <alice@lab.test>, bob@lab.test'); '' when absent. */
  text: string;
}

export interface MessageAttachment {
  /** The file name (Content-Disposition filename or Content-Type name), decoded; undefined when none. */
  filename: string | undefined;
  /** 'application/pdf', 'image/png', ... (lower case, without parameters). */
  contentType: string;
  /** Octets of the decoded content. */
  size: number;
  /** The decoded content (base64 and quoted-printable undone). */
  content: Buffer;
  /** 'attachment' or 'inline'. */
  disposition: string;
  /** Content-ID without the angle brackets (inline images referenced as cid:...), when given. */
  contentId: string | undefined;
}

export interface HeaderLine {
  /** The field name as written ('Subject', 'X-Mailer'). */
  name: string;
  /** The raw value, unfolded, not decoded (encoded words stay as sent). */
  value: string;
}

/** Where a message is: the mailbox, the folder and its IMAP UID there. */
export interface MessageLocation {
  /** 'alice/INBOX/3': user, folder and UID; unique while the folder lives. */
  id: string;
  user: string;
  folder: string;
  uid: number;
}

/** A message with its MIME structure parsed (mailparser, from the nodemailer project). */
export interface ParsedMessage extends MessageLocation {
  from: AddressList;
  to: AddressList;
  cc: AddressList;
  bcc: AddressList;
  replyTo: AddressList;
  /** Decoded Subject ('' when absent). */
  subject: string;
  /** The Date field; null when absent or unreadable. */
  date: Date | null;
  /** Message-ID with its angle brackets; null when absent. */
  messageId: string | null;
  /** The plain-text body ('' when the message has none; made from the HTML part when only HTML was sent). */
  text: string;
  /** The HTML body as sent; null when the message has no HTML part. */
  html: string | null;
  attachments: MessageAttachment[];
  /** Every header field in order, trace fields labnet added (Return-Path, Received) included. */
  headers: HeaderLine[];
  /** The message exactly as stored (CRLF line endings), as POP3 RETR and IMAP FETCH serve it. */
  raw: Buffer;
  /** Octets as stored. */
  size: number;
  /** When it arrived (the IMAP internal date). */
  receivedAt: Date;
  /** IMAP flags ('\\Seen', '\\Flagged', keywords). */
  flags: string[];
}

/** A text condition: a string matches as a case-insensitive substring; a RegExp is tested. */
export type TextMatch = string | RegExp;

/** Which messages `lab.mail.messages()` returns. Every condition given must hold. */
export interface MessageQuery {
  /** The mailbox ('alice' or 'alice@lab.test'); every mailbox when absent. */
  user?: string;
  /** The folder, default 'INBOX'; '*' for every folder. */
  folder?: string;
  /**
   * A recipient: for a lab address ('bob', 'bob@lab.test') the messages delivered to that mailbox;
   * for another domain the messages captured for it in the catch-all mailbox.
   */
  to?: string;
  /** The From field (display name or address). */
  from?: TextMatch;
  subject?: TextMatch;
  /** The plain-text body (or the HTML body's text). */
  text?: TextMatch;
  /** Only messages that arrived at or after this time. */
  since?: Date | number;
}

export interface WaitForOptions extends MessageQuery {
  /** How many matching messages to wait for (default 1). Those already there count. */
  count?: number;
  /** Give up after this long (default 10,000 ms). */
  timeoutMs?: number;
}

/** What the index knows of a message without reading it: the REST list, the delivery stream. */
export interface MessageSummary extends MessageLocation {
  from: AddressList;
  to: AddressList;
  cc: AddressList;
  subject: string;
  date: Date | null;
  messageId: string | null;
  size: number;
  receivedAt: Date;
  flags: string[];
}
