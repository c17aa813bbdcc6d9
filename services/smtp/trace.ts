// Trace fields added at delivery (RFC 5321 section 4.4): Return-Path with the envelope sender, then a
// Received line naming the client, us, the protocol (RFC 3848 / RFC 6531 section 3.7.3 keywords)
// and the queue id.
import { isIPv6 } from 'node:net';
import { rfc5322Date } from '../../core/mail-format/dates.js';

/** The "with" keyword: SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA, or the UTF8SMTP* forms. */
export function withProtocol(o: { esmtp: boolean; tls: boolean; auth: boolean; utf8: boolean }): string {
  if (!o.esmtp) return 'SMTP';
  const base = o.utf8 ? 'UTF8SMTP' : 'ESMTP';
  return `${base}${o.tls ? 'S' : ''}${o.auth ? 'A' : ''}`;
}

export interface TraceInput {
  reversePath: string;
  helo: string;
  clientAddress: string;
  hostname: string;
  protocol: string;
  queueId: string;
  /** Named in the "for" clause only when there is exactly one recipient. */
  recipients: readonly string[];
  date: Date;
}

export function traceHeader(t: TraceInput): string {
  const ip = isIPv6(t.clientAddress) ? `IPv6:${t.clientAddress}` : t.clientAddress;
  const helo = t.helo.replace(/[^\x21-\x7e]/g, '?').slice(0, 255) || 'unknown';
  const forClause = t.recipients.length === 1 ? `\r\n\tfor <${t.recipients[0]}>` : '';
  return (
    `Return-Path: <${t.reversePath}>\r\n` +
    `Received: from ${helo} ([${ip}])\r\n\tby ${t.hostname} (labnet) with ${t.protocol} id ${t.queueId}${forClause};\r\n\t${rfc5322Date(t.date)}\r\n`
  );
}
