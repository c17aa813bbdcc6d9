// The fast path's look at a query: checks it exactly as decodeMessage(buf, { query: true }) would
// (the property tests hold the two to that), but only walks the question and the usual lone OPT record
// instead of building objects. Anything unusual (answer or authority records in a query, more than one
// additional record) goes through the full decoder.
import { ednsOf, decodeMessage } from './message.js';
import { DNS_LIMITS } from './limits.js';
import { walkName } from './names.js';
import { TYPE } from './records.js';

export interface QueryEdns {
  udpSize: number;
  version: number;
  do: boolean;
}

export interface ScannedQuery {
  /** Offset just after the question (the question's octets are 12..questionEnd). */
  questionEnd: number;
  qtype: number;
  qclass: number;
  edns: QueryEdns | undefined;
}

/** Checks a query (the header is known to be there). Throws DnsWireError as the full decoder would. */
export function scanQuery(buf: Uint8Array): ScannedQuery {
  const len = buf.length;
  const qd = (buf[4] << 8) | buf[5];
  const an = (buf[6] << 8) | buf[7];
  const ns = (buf[8] << 8) | buf[9];
  const ar = (buf[10] << 8) | buf[11];
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return slow(buf);
  const nameEnd = walkName(buf, 12, len);
  if (nameEnd + 4 > len) return slow(buf);
  const qtype = (buf[nameEnd] << 8) | buf[nameEnd + 1];
  const qclass = (buf[nameEnd + 2] << 8) | buf[nameEnd + 3];
  const questionEnd = nameEnd + 4;
  if (ar === 0) {
    if (questionEnd !== len) return slow(buf);
    return { questionEnd, qtype, qclass, edns: undefined };
  }
  // One additional record: the OPT a resolver adds, with the root as owner (a single zero octet).
  const o = questionEnd;
  if (o + 11 > len || buf[o] !== 0 || ((buf[o + 1] << 8) | buf[o + 2]) !== TYPE.OPT) return slow(buf);
  const udpSize = (buf[o + 3] << 8) | buf[o + 4];
  const version = buf[o + 6];
  const doBit = (buf[o + 7] & 0x80) !== 0;
  const rdlength = (buf[o + 9] << 8) | buf[o + 10];
  const end = o + 11 + rdlength;
  if (end !== len) return slow(buf);
  let p = o + 11;
  let options = 0;
  while (p < end) {
    if (++options > DNS_LIMITS.maxEdnsOptions || p + 4 > end) return slow(buf);
    p += 4 + ((buf[p + 2] << 8) | buf[p + 3]);
  }
  if (p !== end) return slow(buf);
  return { questionEnd, qtype, qclass, edns: { udpSize, version, do: doBit } };
}

/** The full decoder, for queries of unusual shape: throws what it finds, or describes the query. */
function slow(buf: Uint8Array): ScannedQuery {
  const m = decodeMessage(buf, { query: true });
  const q = m.questions[0];
  // decodeMessage accepted it, so the question is at 12 and walkName finds its end again.
  const questionEnd = walkName(buf, 12, buf.length) + 4;
  const e = ednsOf(m);
  return { questionEnd, qtype: q.type, qclass: q.class, edns: e ? { udpSize: e.udpSize, version: e.version, do: e.do } : undefined };
}
