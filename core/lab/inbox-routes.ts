// The web inbox of the live lab: a logged-in student reads their own mailbox (folders, the list, one
// message as text or HTML, its headers, its source, its attachments); an instructor may read any
// mailbox (?user=). Everything goes through the MailApi (TOKENS.MailApi), as lab.mail and the REST
// API do. Routes, all GET, below /lab/api/mail/ (a longer prefix than /lab/, so they win):
//   folders[?user=]                      the folders with counts (instructors: every mailbox too)
//   list?folder=[&user=]                 the newest messages of a folder
//   message?folder=&uid=[&user=]         one message: addresses, text, headers, attachments listed
//   html?folder=&uid=[&user=]            the HTML part as a document for a sandboxed frame
//   raw?folder=&uid=[&user=]             the source, as text
//   structure?folder=&uid=[&user=]       the MIME tree (inbox-mime.ts) and the encoded words of the header
//   attachment?folder=&uid=&n=[&user=]   one attachment, always as a download
//
// HTML mail is hostile: it is served with `Content-Security-Policy: sandbox` (an opaque origin, no
// scripts, no forms, no popups, even when opened on its own), `default-src 'none'` (no remote images,
// fonts, styles or frames: nothing leaves the lab, nothing tracks the reader), inline styles and
// data: images allowed, cid: images inlined from the message itself; the lab page shows it in an
// <iframe sandbox> without allow-scripts or allow-same-origin.
import type { HttpExchange } from '../http/exchange.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import type { MailApi } from '../mail-api/mail-api.js';
import { messageId, summarise } from '../mail-api/match.js';
import { contentDisposition, safeContentType } from '../mail-api/rest/http-json.js';
import { mime } from '../mail-api/mime-lib.js';
import type { ParsedMessage } from '../mail-api/types.js';
import { mimeTree } from './inbox-mime.js';
import type { LabHub } from './hub.js';
import { LAB_SECURITY_FIELDS } from './page.js';
import { viewerOf } from './routes.js';
import type { Viewer } from './wire.js';

export const INBOX_LIMITS = {
  /** Messages a list answers with (the newest). */
  listMessages: 500,
  /** Header lines shown. */
  headerLines: 300,
  /** Source octets shown (the rest is cut, with a note). */
  rawBytes: 2 * 1024 * 1024,
  /** cid: images inlined as data: URLs at most this large each. */
  inlineImageBytes: 512 * 1024,
  /** Query values. */
  param: 256,
} as const;

/** What the HTML frame may do: nothing but show itself. */
export const MAIL_HTML_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

const JSON_FIELDS = `Content-Type: application/json\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`;

class InboxError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function addInboxRoutes(routes: HttpRouteRegistry, hub: LabHub, mail: MailApi): void {
  routes.add({
    path: '/lab/api/mail/',
    prefix: true,
    methods: ['GET'],
    handler: async (ex) => {
      try {
        await serve(ex, hub, mail);
      } catch (err) {
        if (ex.responded) throw err;
        if (err instanceof InboxError) return ex.sendError(err.status, err.message, { fields: LAB_SECURITY_FIELDS });
        if (err instanceof Error && 'code' in err && (err as { code: unknown }).code === 'NO_SUCH_MESSAGE')
          return ex.sendError(404, 'no such message (it may have been deleted)', { fields: LAB_SECURITY_FIELDS });
        throw err;
      }
    },
  });
}

/** The mailbox a viewer may read: their own; an instructor any (?user=). */
function mailboxFor(viewer: Viewer, params: URLSearchParams, mail: MailApi): string {
  if (viewer.role === 'anonymous' || viewer.user === undefined) throw new InboxError(401, 'log in to read your mail');
  const own = mail.mailboxOf(viewer.user);
  const asked = params.get('user');
  if (asked === null || asked === '' || mail.mailboxOf(asked) === own) return own;
  if (viewer.role !== 'instructor') throw new InboxError(403, 'you can only read your own mailbox');
  return mail.mailboxOf(asked);
}

function paramsOf(ex: HttpExchange): URLSearchParams {
  const p = new URLSearchParams(ex.req.query.slice(0, 2048));
  for (const [k, v] of p) if (v.length > INBOX_LIMITS.param) throw new InboxError(400, `"${k.slice(0, 40)}" is too long`);
  return p;
}

function folderOf(p: URLSearchParams): string {
  return p.get('folder') || 'INBOX';
}

function uidOf(p: URLSearchParams): number {
  const v = p.get('uid') ?? '';
  if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new InboxError(400, 'uid must be a message number');
  return Number(v);
}

function sendJson(ex: HttpExchange, value: unknown): void {
  ex.send(200, JSON_FIELDS, JSON.stringify(value));
}

async function serve(ex: HttpExchange, hub: LabHub, mail: MailApi): Promise<void> {
  const what = ex.path.slice('/lab/api/mail/'.length);
  const viewer = viewerOf(ex, hub);
  const params = paramsOf(ex);
  const user = mailboxFor(viewer, params, mail);
  switch (what) {
    case 'folders': {
      const folders = await mail.folderStatus(user);
      const mailboxes = viewer.role === 'instructor' ? await mail.mailboxes() : undefined;
      return sendJson(ex, {
        user,
        folders: folders.length > 0 ? folders : [{ name: 'INBOX', messages: 0, unseen: 0, size: 0 }],
        ...(mailboxes ? { mailboxes } : {}),
      });
    }
    case 'list': {
      const folder = folderOf(params);
      const located = await mail.locate({ user, folder });
      const newest = located.slice(-INBOX_LIMITS.listMessages).reverse();
      return sendJson(ex, {
        user,
        folder,
        total: located.length,
        messages: newest.map((l) => {
          const s = summarise(l.user, l.folder, l.info);
          return {
            uid: s.uid,
            folder: s.folder,
            from: s.from.text,
            to: s.to.text,
            subject: s.subject,
            date: s.date?.toISOString() ?? null,
            receivedAt: s.receivedAt.toISOString(),
            size: s.size,
            seen: s.flags.includes('\\Seen'),
          };
        }),
      });
    }
    case 'message': {
      const m = await mail.message(messageId(user, folderOf(params), uidOf(params)));
      return sendJson(ex, messageView(m));
    }
    case 'html': {
      const m = await mail.message(messageId(user, folderOf(params), uidOf(params)));
      if (m.html === null) throw new InboxError(404, 'this message has no HTML part');
      const doc = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">${inlineCid(m.html, m)}`;
      ex.send(
        200,
        `Content-Type: text/html; charset=utf-8\r\nContent-Security-Policy: ${MAIL_HTML_CSP}\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nCache-Control: no-store\r\n`,
        doc,
      );
      return;
    }
    case 'structure': {
      const id = messageId(user, folderOf(params), uidOf(params));
      const m = await mail.message(id);
      const encodedWords = m.headers
        .filter((x) => x.value.includes('=?'))
        .slice(0, 50)
        .map((x) => ({ name: x.name, raw: x.value.slice(0, 2000), decoded: mime().decodeWords(x.value.slice(0, 2000)) }));
      return sendJson(ex, { tree: mimeTree(m.raw), encodedWords });
    }
    case 'raw': {
      const raw = await mail.raw(messageId(user, folderOf(params), uidOf(params)));
      const cut = raw.length > INBOX_LIMITS.rawBytes;
      ex.send(
        200,
        `Content-Type: text/plain; charset=utf-8\r\nX-Source-Octets: ${raw.length}\r\nX-Source-Cut: ${cut ? 'yes' : 'no'}\r\n` +
          `Content-Security-Policy: sandbox; default-src 'none'\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n`,
        cut ? raw.subarray(0, INBOX_LIMITS.rawBytes) : raw,
      );
      return;
    }
    case 'attachment': {
      const m = await mail.message(messageId(user, folderOf(params), uidOf(params)));
      const n = params.get('n') ?? '';
      const a = /^[0-9]{1,4}$/.test(n) ? m.attachments[Number(n)] : undefined;
      if (!a) throw new InboxError(404, `this message has ${m.attachments.length} attachment(s), numbered from 0`);
      ex.send(
        200,
        `Content-Type: ${safeContentType(a.contentType)}\r\nContent-Disposition: ${contentDisposition(a.filename ?? `attachment-${n}`)}\r\n` +
          "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: sandbox; default-src 'none'\r\nCache-Control: no-store\r\n",
        a.content,
      );
      return;
    }
    default:
      throw new InboxError(404, `nothing at ${ex.path.slice(0, 200)}`);
  }
}

/** Remote references an HTML body makes (images, styles, frames): shown as "blocked" in the page. */
export function remoteReferences(html: string): number {
  let n = 0;
  const re = /\b(?:src|href|background|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\/|url\(\s*["']?\s*(?:https?:)?\/\//gi;
  const text = html.slice(0, 4 * 1024 * 1024);
  while (re.exec(text) !== null && n < 10_000) n++;
  return n;
}

/** cid: references to this message's own inline parts become data: URLs (small ones only). */
function inlineCid(html: string, m: ParsedMessage): string {
  const byCid = new Map<string, ParsedMessage['attachments'][number]>();
  for (const a of m.attachments) if (a.contentId) byCid.set(a.contentId.replace(/^<|>$/g, ''), a);
  if (byCid.size === 0) return html;
  return html.replace(/cid:([^"'\s)>]{1,200})/gi, (whole, id: string) => {
    const a = byCid.get(id);
    if (!a || a.size > INBOX_LIMITS.inlineImageBytes || !/^image\/(png|gif|jpeg|webp)$/i.test(a.contentType)) return whole;
    return `data:${a.contentType.toLowerCase()};base64,${a.content.toString('base64')}`;
  });
}

function messageView(m: ParsedMessage): Record<string, unknown> {
  return {
    id: m.id,
    user: m.user,
    folder: m.folder,
    uid: m.uid,
    subject: m.subject,
    from: m.from.text,
    to: m.to.text,
    cc: m.cc.text,
    replyTo: m.replyTo.text,
    date: m.date?.toISOString() ?? null,
    messageId: m.messageId,
    text: m.text,
    hasHtml: m.html !== null,
    remoteReferences: m.html !== null ? remoteReferences(m.html) : 0,
    attachments: m.attachments.map((a, index) => ({
      index,
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      inline: a.disposition === 'inline',
    })),
    headers: m.headers.slice(0, INBOX_LIMITS.headerLines),
    headerCount: m.headers.length,
    size: m.size,
    flags: m.flags,
  };
}
