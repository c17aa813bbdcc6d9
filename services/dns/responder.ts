// One query in, at most one response out: the part of the DNS service that knows the protocol and
// nothing about sockets (the service receives, asks here, sends). Order of checks:
//   a datagram shorter than a header, or a response (QR=1): dropped, never answered (no loops);
//   opcode other than QUERY: NOTIMP (RFC 1035 section 4.1.1);
//   anything malformed (scanQuery/decodeMessage): FORMERR;
//   EDNS version above 0: BADVERS (RFC 6891 section 6.1.3);
//   a name outside the lab's zones, a zone transfer, a class other than IN: REFUSED, never recursion;
//   otherwise the zone's answer, authoritative (AA), RA clear, RD and CD copied.
// Answers are encoded once and kept, keyed by the question's exact octets and what shapes the answer
// (view, size limit, RD/CD, EDNS); a hit is a copy with the client's ID written in.
import { DEFAULT_EDNS_UDP_SIZE, DNS_LIMITS } from './limits.js';
import { RCODE, type HeaderFlags } from './header.js';
import { encodeMessage, optRecord, type DnsMessage, type ResourceRecord } from './message.js';
import { readName } from './names.js';
import { scanQuery, type ScannedQuery } from './query-scan.js';
import { CLASS, TYPE } from './records.js';
import { Reader } from './wire.js';
import { DnsWireError } from './wire-error.js';
import type { LabZone } from './zone.js';

export type Transport = 'udp' | 'tcp';

export interface Outcome {
  /** What to send; absent when the datagram is dropped. */
  response?: Buffer;
  /** Full response code sent (BADVERS is 16). */
  rcode?: number;
  /** Why a query was FORMERR or dropped. */
  error?: DnsWireError;
  /** Why nothing was sent. */
  dropped?: 'short' | 'response';
  cached: boolean;
  truncated: boolean;
}

export interface ResponderOptions {
  /** Our own EDNS UDP payload size: what we advertise and the most we send over UDP. */
  ednsUdpSize?: number;
  cacheEntries?: number;
}

const QR = 0x80;
const OPCODE_MASK = 0x78;
const RD = 0x01;
const CD = 0x10;

export class Responder {
  private cache = new Map<string, { response: Buffer; rcode: number; truncated: boolean }>();
  readonly ednsUdpSize: number;
  private readonly cacheEntries: number;
  counters = { hits: 0, misses: 0 };

  constructor(
    /** The zone for a view (see dns-service.ts: which of the host's addresses a client is given). */
    private readonly zoneFor: (view: string) => LabZone,
    options: ResponderOptions = {},
  ) {
    this.ednsUdpSize = options.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE;
    this.cacheEntries = options.cacheEntries ?? DNS_LIMITS.answerCacheEntries;
  }

  /** Forgets every encoded answer (the zone changed). */
  invalidate(): void {
    this.cache = new Map();
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  respond(query: Buffer, view: string, transport: Transport): Outcome {
    if (query.length < DNS_LIMITS.headerLength) return { dropped: 'short', cached: false, truncated: false };
    const f1 = query[2];
    const f2 = query[3];
    if (f1 & QR) return { dropped: 'response', cached: false, truncated: false };
    const opcode = (f1 & OPCODE_MASK) >> 3;
    if (opcode !== 0) return this.bare(query, RCODE.NOTIMP, opcode);
    let scan: ScannedQuery;
    try {
      scan = scanQuery(query);
    } catch (err) {
      if (!(err instanceof DnsWireError)) throw err;
      return { ...this.bare(query, RCODE.FORMERR, 0), error: err };
    }
    const edns = scan.edns;
    const limit =
      transport === 'tcp'
        ? DNS_LIMITS.maxMessageLength
        : edns
          ? Math.min(Math.max(edns.udpSize, DNS_LIMITS.minEdnsUdpSize), this.ednsUdpSize)
          : DNS_LIMITS.classicUdpSize;
    const key = `${view}\0${limit}\0${f1 & RD}${f2 & CD}${edns ? (edns.do ? 2 : 1) : 0}${edns && edns.version > 0 ? 'v' : ''}\0${query.toString('latin1', 12, scan.questionEnd)}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.counters.hits++;
      const out = Buffer.allocUnsafe(hit.response.length);
      hit.response.copy(out);
      out[0] = query[0];
      out[1] = query[1];
      return { response: out, rcode: hit.rcode, cached: true, truncated: hit.truncated };
    }
    this.counters.misses++;
    const outcome = this.build(query, scan, view, limit);
    if (outcome.response) {
      if (this.cache.size >= this.cacheEntries) this.cache = new Map();
      this.cache.set(key, { response: outcome.response, rcode: outcome.rcode ?? 0, truncated: outcome.truncated });
      const copy = Buffer.allocUnsafe(outcome.response.length);
      outcome.response.copy(copy);
      outcome.response = copy;
    }
    return outcome;
  }

  private build(query: Buffer, scan: ScannedQuery, view: string, limit: number): Outcome {
    const r = new Reader(query, 12, scan.questionEnd);
    const qname = readName(r);
    const question = { name: qname, type: scan.qtype, class: scan.qclass };
    const edns = scan.edns;
    const flags: HeaderFlags = {
      qr: true,
      opcode: 0,
      aa: false,
      tc: false,
      rd: (query[2] & RD) !== 0,
      ra: false,
      z: false,
      ad: false,
      cd: (query[3] & CD) !== 0,
      rcode: RCODE.NOERROR,
    };
    const opt = (extendedRcode = 0): ResourceRecord[] =>
      edns ? [optRecord({ udpSize: this.ednsUdpSize, extendedRcode, version: 0, do: edns.do, z: 0, options: [] })] : [];
    const message = (rcode: number, answers: ResourceRecord[] = [], authorities: ResourceRecord[] = [], additionals: ResourceRecord[] = []): DnsMessage => ({
      id: (query[0] << 8) | query[1],
      flags: { ...flags, rcode: rcode & 0xf },
      questions: [question],
      answers,
      authorities,
      additionals: [...additionals, ...opt(rcode >> 4)],
    });
    const done = (m: DnsMessage, rcode: number): Outcome => this.fit(m, rcode, limit, opt(rcode >> 4));

    if (edns && edns.version > 0) return done(message(RCODE.BADVERS), RCODE.BADVERS);
    // RFC 6891 section 6.1.1: OPT is not a question; meta-queries MAILA/MAILB are obsolete (RFC 883).
    if (scan.qtype === TYPE.OPT) return { ...done(message(RCODE.FORMERR), RCODE.FORMERR), error: new DnsWireError('BAD_OPT', 'OPT asked as a question type') };
    if (scan.qtype === TYPE.MAILA || scan.qtype === TYPE.MAILB) return done(message(RCODE.NOTIMP), RCODE.NOTIMP);
    // No zone transfers: the lab's zone is served, not copied.
    if (scan.qtype === TYPE.AXFR || scan.qtype === TYPE.IXFR) return done(message(RCODE.REFUSED), RCODE.REFUSED);
    const answer = this.zoneFor(view).lookup(qname, scan.qtype, scan.qclass);
    if (answer.refused) return done(message(RCODE.REFUSED), RCODE.REFUSED);
    flags.aa = true;
    const answers = answer.answers.map((a) => ({ name: qname, type: a.type, class: CLASS.IN, ttl: a.ttl, data: a.data }));
    return done(message(answer.rcode, answers, answer.authorities, answer.additionals), answer.rcode);
  }

  /**
   * Encodes within `limit`: first whole; then without the additional records (RFC 2181 section 9: no
   * TC for leaving those out); then only header, question and OPT with TC set, so the client asks
   * again over TCP (RFC 1035 section 4.2.1, RFC 7766 section 5).
   */
  private fit(m: DnsMessage, rcode: number, limit: number, opt: ResourceRecord[]): Outcome {
    let out = encodeMessage(m);
    if (out.length <= limit) return { response: out, rcode, cached: false, truncated: false };
    if (m.additionals.length > opt.length) {
      out = encodeMessage({ ...m, additionals: opt });
      if (out.length <= limit) return { response: out, rcode, cached: false, truncated: false };
    }
    out = encodeMessage({ ...m, flags: { ...m.flags, tc: true }, answers: [], authorities: [], additionals: opt });
    return { response: out, rcode, cached: false, truncated: true };
  }

  /** A header-only answer (NOTIMP, or FORMERR for what could not be read): ID, opcode and RD copied. */
  private bare(query: Buffer, rcode: number, opcode: number): Outcome {
    const out = Buffer.alloc(12);
    out[0] = query[0];
    out[1] = query[1];
    out[2] = QR | (opcode << 3) | (query[2] & RD);
    out[3] = rcode & 0xf;
    return { response: out, rcode, cached: false, truncated: false };
  }
}
