// How messages look in the REST API's JSON (the schemas in openapi.ts describe exactly this): dates
// as ISO 8601 strings, no raw octets or attachment contents inline but links to them.
import type { MessageInfo } from '../../mail-store/index.js';
import { summarise } from '../match.js';
import type { ParsedMessage } from '../types.js';

export const API_BASE = '/api/v1';

/** The path of a message (each segment percent-encoded: folder names may hold spaces and more). */
export function messagePath(user: string, folder: string, uid: number): string {
  return `${API_BASE}/messages/${encodeURIComponent(user)}/${encodeURIComponent(folder)}/${uid}`;
}

export function summaryJson(user: string, folder: string, info: MessageInfo): Record<string, unknown> {
  const s = summarise(user, folder, info);
  const self = messagePath(user, folder, info.uid);
  return {
    ...s,
    date: s.date?.toISOString() ?? null,
    receivedAt: s.receivedAt.toISOString(),
    links: { self, raw: `${self}/raw` },
  };
}

export function messageJson(m: ParsedMessage): Record<string, unknown> {
  const self = messagePath(m.user, m.folder, m.uid);
  return {
    id: m.id,
    user: m.user,
    folder: m.folder,
    uid: m.uid,
    from: m.from,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    replyTo: m.replyTo,
    subject: m.subject,
    date: m.date?.toISOString() ?? null,
    messageId: m.messageId,
    text: m.text,
    html: m.html,
    attachments: m.attachments.map((a, index) => ({
      index,
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      disposition: a.disposition,
      contentId: a.contentId ?? null,
      links: { content: `${self}/attachments/${index}` },
    })),
    headers: m.headers,
    size: m.size,
    receivedAt: m.receivedAt.toISOString(),
    flags: m.flags,
    links: { self, raw: `${self}/raw` },
  };
}
