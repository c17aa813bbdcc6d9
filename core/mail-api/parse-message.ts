// One stored message to its parsed form. The protocol engines are labnet's own; reading MIME back for
// a test suite is not a lesson, so this uses mailparser (nodemailer project), which decodes what mail
// clients send: multipart trees, base64, quoted-printable, RFC 2047 encoded words, RFC 2231 file
// names, legacy charsets.
import type { AddressObject, EmailAddress } from 'mailparser';
import { MAIL_API_LIMITS } from './limits.js';
import { loadMime } from './mime-lib.js';
import type { AddressList, HeaderLine, MessageAttachment } from './types.js';

/** What the content of a message parses to (the same for every mailbox holding a copy). */
export interface ParsedContent {
  from: AddressList;
  to: AddressList;
  cc: AddressList;
  bcc: AddressList;
  replyTo: AddressList;
  subject: string;
  date: Date | null;
  messageId: string | null;
  text: string;
  html: string | null;
  attachments: MessageAttachment[];
  headers: HeaderLine[];
}

function flatten(list: readonly EmailAddress[], out: Array<{ name: string; address: string }>, depth = 0): void {
  for (const a of list) {
    if (a.group && depth < 4) flatten(a.group, out, depth + 1);
    else if (!a.group) out.push({ name: a.name ?? '', address: a.address ?? '' });
  }
}

function addressList(field: AddressObject | AddressObject[] | undefined): AddressList {
  if (field === undefined) return { value: [], text: '' };
  const objects = Array.isArray(field) ? field : [field];
  const value: Array<{ name: string; address: string }> = [];
  for (const o of objects) flatten(o.value, value);
  return { value, text: objects.map((o) => o.text).join(', ') };
}

/** `Name: value` header lines as written, unfolded (RFC 5322 section 2.2.3), values not decoded. */
function headerLines(lines: ReadonlyArray<{ key: string; line: string }>): HeaderLine[] {
  const out: HeaderLine[] = [];
  for (const { line } of lines.slice(0, MAIL_API_LIMITS.maxHeaderLines)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    // Most fields are one line: unfold only those that have a line break.
    const value = line.slice(colon + 1);
    out.push({ name: line.slice(0, colon).trim(), value: (value.includes('\n') ? value.replace(/\r?\n(?=[ \t])/g, '') : value).trim() });
  }
  return out;
}

/** Parses a whole message. Never throws for malformed mail: mailparser makes the best of it. */
export async function parseContent(raw: Buffer): Promise<ParsedContent> {
  const { simpleParser } = await loadMime();
  const mail = await simpleParser(raw, {
    // Only what the API returns: no text-to-HTML conversion, cid: links left as they are (no data: URIs
    // multiplying the HTML's size), and a bound on the HTML that html-to-text reads.
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    keepCidLinks: true,
    maxHtmlLengthToParse: MAIL_API_LIMITS.maxHtmlToTextBytes,
    maxHeadSize: MAIL_API_LIMITS.maxHeadBytes,
    maxChildNodes: MAIL_API_LIMITS.maxChildNodes,
  });
  const attachments: MessageAttachment[] = mail.attachments.slice(0, MAIL_API_LIMITS.maxAttachments).map((a) => ({
    filename: a.filename,
    contentType: (a.contentType || 'application/octet-stream').toLowerCase(),
    size: a.content.length,
    content: a.content,
    disposition: a.contentDisposition === 'inline' ? 'inline' : 'attachment',
    contentId: a.cid,
  }));
  return {
    from: addressList(mail.from),
    to: addressList(mail.to),
    cc: addressList(mail.cc),
    bcc: addressList(mail.bcc),
    replyTo: addressList(mail.replyTo),
    subject: mail.subject ?? '',
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
    messageId: mail.messageId ?? null,
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : null,
    attachments,
    headers: headerLines(mail.headerLines),
  };
}
