// Decodes a captured TLS handshake (the raw bytes of both directions, with arrival times, and the
// key-log lines) into the messages of a ladder diagram: record layer (RFC 8446 §5.1, RFC 5246 §6.2),
// handshake framing (RFC 8446 §4), ClientHello/ServerHello and their extensions, the TLS 1.2 flight
// (Certificate, ServerKeyExchange, ServerHelloDone, ClientKeyExchange, ChangeCipherSpec, Finished) and
// the TLS 1.3 encrypted flight, opened with the handshake traffic secrets. Everything is bounded and
// nothing here throws on hostile bytes: a malformed part becomes a message with an `error`.
import { createHash, X509Certificate } from 'node:crypto';
import { aeadSuite, openTls12Record, openTls13Record, tls12Keys, tls12MasterSecret, tls13TrafficKeys, type AeadSuite, type TrafficKeys } from './tls-crypto.js';
import {
  ALERT_DESCRIPTIONS,
  CONTENT_TYPES,
  HANDSHAKE_TYPES,
  PSK_MODES,
  extName,
  groupName,
  isGrease,
  nameOf,
  sigName,
  suiteName,
  versionName,
} from './tls-names.js';

export type Side = 'client' | 'server';

export interface CapturedChunk {
  from: Side;
  /** Milliseconds since the connection was accepted. */
  t: number;
  data: Buffer;
}

export interface Field {
  name: string;
  value: string;
}

export interface LadderMessage {
  from: Side;
  name: string;
  /** Time the record that completed the message arrived (ms since accept). */
  t: number;
  /** Bytes of the message (handshake header included), or of the record payload. */
  bytes: number;
  /** Sent encrypted (and opened here with the key log, when `decrypted`). */
  encrypted: boolean;
  decrypted?: boolean;
  fields: Field[];
  explain: string;
  error?: string;
}

export interface DecodedHandshake {
  version?: string;
  suite?: string;
  group?: string;
  alpn?: string;
  serverName?: string;
  clientRandom?: string;
  messages: LadderMessage[];
  /** Key-log lines (SSLKEYLOGFILE format) for this connection. */
  keylog: string[];
  /** The pre-master secret the RSA key-exchange demo decrypted, and what it proves. */
  rsa?: { preMaster: string; clientVersion: string; masterSecret?: string; matchesKeyLog?: boolean; error?: string };
  bytes: { client: number; server: number };
  /** The server sent no certificate: an earlier session was resumed (TLS 1.3 PSK or a TLS 1.2 session id / ticket). */
  resumed?: boolean;
  notes: string[];
}

export interface DecodeOptions {
  /** RSA key exchange demo: decrypts an encrypted pre-master secret (PKCS#1 v1.5) with the server key. */
  rsaDecrypt?: (encrypted: Buffer) => Buffer | undefined;
  /** At most this many messages (application data records are summarised after it). */
  maxMessages?: number;
}

/** TLSCiphertext.length may not exceed 2^14 + 2048 (RFC 5246 §6.2.3); 2^14 + 256 in TLS 1.3. */
const MAX_RECORD = 16384 + 2048;
/** Handshake messages above this are not reassembled (certificate chains are a few KB). */
const MAX_HANDSHAKE_MESSAGE = 65536;

export const EXPLAIN: Record<string, string> = {
  ClientHello:
    'The client sends what it supports: TLS versions, cipher suites, key-exchange groups and signature algorithms, plus a fresh random number. server_name says which site it wants; ALPN says which application protocol will run inside.',
  ServerHello:
    "The server chooses one version and one cipher suite from the client's list and sends its own random number. In TLS 1.3 it also sends its half of the key exchange, so both sides can now derive the handshake keys.",
  HelloRetryRequest: 'The server needs a key share for another group: the client must send a second ClientHello.',
  EncryptedExtensions:
    'From here on TLS 1.3 encrypts the handshake with keys both sides derived from the key exchange. The server confirms its other choices, such as the application protocol (ALPN).',
  Certificate:
    'The server proves its identity with its certificate: its name and public key, signed by a certificate authority (here the lab CA). The client checks the signature chain up to a CA it trusts and that the name matches the site.',
  CertificateVerify: 'The server signs the handshake so far with the private key that belongs to the certificate, proving it really owns that certificate.',
  ServerKeyExchange:
    "The server's half of the ECDHE key exchange (a fresh public key on the chosen curve), signed with the certificate's private key so the client knows it comes from the real server.",
  ServerHelloDone: 'The server has sent its whole hello flight and now waits for the client.',
  'ClientKeyExchange (ECDHE)':
    "The client's half of the key exchange. From the two halves both sides compute the same pre-master secret without ever sending it; with the two random numbers they derive the session keys.",
  'ClientKeyExchange (RSA)':
    "The client chose a random 48-byte pre-master secret and encrypted it with the server's public key from the certificate; only the server's private key can decrypt it. Both sides derive the session keys from it and the two random numbers.",
  ChangeCipherSpec: 'From the next record on, this side encrypts with the new session keys. (TLS 1.3 only sends it for compatibility with old middleboxes.)',
  Finished:
    'A check value over the whole handshake computed with the new keys: each side verifies nobody changed a message on the way. After both Finished messages, both sides hold the same session keys.',
  NewSessionTicket: 'A ticket the client may keep to resume this session later without a full handshake.',
  CertificateRequest: 'The server asks the client for a certificate of its own.',
  KeyUpdate: 'One side switches to fresh traffic keys.',
  ApplicationData:
    'Encrypted application data: the HTTP request and response, protected with the session keys (symmetric encryption). An eavesdropper sees only the sizes.',
  Alert: 'An alert: the connection is being closed, normally or because of an error.',
};

// ---- a bounds-checked reader --------------------------------------------------------------------

class DecodeError extends Error {}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get left(): number {
    return this.buf.length - this.pos;
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new DecodeError(`truncated: needs ${n} bytes at offset ${this.pos}, has ${this.left}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  vec8(): Buffer {
    return this.bytes(this.u8());
  }
  vec16(): Buffer {
    return this.bytes(this.u16());
  }
  vec24(): Buffer {
    return this.bytes(this.u24());
  }
}

function u16List(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) out.push(b.readUInt16BE(i));
  return out;
}

function hex(b: Buffer, max = 64): string {
  return b.length > max ? `${b.subarray(0, max).toString('hex')}… (${b.length} bytes)` : b.toString('hex');
}

// ---- extensions -----------------------------------------------------------------------------------

interface Extension {
  type: number;
  data: Buffer;
}

function parseExtensions(b: Buffer): Extension[] {
  const r = new Reader(b);
  const out: Extension[] = [];
  while (r.left > 0) {
    const type = r.u16();
    out.push({ type, data: r.vec16() });
  }
  return out;
}

interface HelloSummary {
  serverName?: string;
  alpn?: string[];
  versions?: number[];
  selectedVersion?: number;
  group?: number;
  extendedMasterSecret?: boolean;
}

function describeExtension(e: Extension, from: Side, msg: string, s: HelloSummary): string {
  const r = new Reader(e.data);
  switch (e.type) {
    case 0: {
      if (e.data.length === 0) return '(acknowledged)';
      const list = new Reader(r.vec16());
      const names: string[] = [];
      while (list.left > 0) {
        const kind = list.u8();
        const name = list.vec16();
        if (kind === 0) names.push(name.toString('latin1'));
      }
      s.serverName = names[0];
      return names.join(', ');
    }
    case 10: {
      const groups = u16List(r.vec16());
      return groups.map(groupName).join(', ');
    }
    case 13:
    case 50:
      return u16List(r.vec16()).map(sigName).join(', ');
    case 16: {
      const list = new Reader(r.vec16());
      const protos: string[] = [];
      while (list.left > 0) protos.push(list.vec8().toString('latin1'));
      s.alpn = protos;
      return protos.join(', ');
    }
    case 43: {
      if (from === 'client' && msg === 'ClientHello') {
        const v = u16List(r.vec8());
        s.versions = v;
        return v.map(versionName).join(', ');
      }
      const v = r.u16();
      s.selectedVersion = v;
      return versionName(v);
    }
    case 45:
      return [...r.vec8()].map((m) => PSK_MODES[m] ?? `unknown (${m})`).join(', ');
    case 51: {
      if (msg === 'ClientHello') {
        const list = new Reader(r.vec16());
        const shares: string[] = [];
        while (list.left > 0) {
          const g = list.u16();
          const k = list.vec16();
          shares.push(`${groupName(g)}: ${k.length}-byte public key`);
        }
        return shares.join('; ') || '(empty: asks the server to pick a group)';
      }
      const g = r.u16();
      s.group = g;
      if (r.left === 0) return `${groupName(g)} (retry with this group)`;
      const k = r.vec16();
      return `${groupName(g)}: ${k.length}-byte public key ${hex(k, 16)}`;
    }
    case 11:
      return [...r.vec8()].map((f) => (f === 0 ? 'uncompressed' : `format ${f}`)).join(', ');
    case 23:
      s.extendedMasterSecret = true;
      return '(yes)';
    case 35:
      return e.data.length === 0 ? '(empty: would like a ticket)' : `${e.data.length}-byte ticket`;
    case 21:
      return `${e.data.length} zero bytes`;
    case 0xff01:
      return e.data.length <= 1 ? '(initial handshake)' : hex(e.data, 16);
    case 28:
      return String(r.u16());
    case 5:
      return e.data.length === 0 ? '(acknowledged)' : 'OCSP';
    default:
      return e.data.length === 0 ? '(empty)' : `${e.data.length} bytes`;
  }
}

function extensionFields(b: Buffer, from: Side, msg: string, s: HelloSummary): Field[] {
  const out: Field[] = [];
  for (const e of parseExtensions(b)) {
    let value: string;
    try {
      value = describeExtension(e, from, msg, s);
    } catch (err) {
      value = `malformed (${(err as Error).message})`;
    }
    out.push({ name: `extension ${extName(e.type)}`, value });
  }
  return out;
}

// ---- records and handshake framing ------------------------------------------------------------------

interface RecordIn {
  from: Side;
  t: number;
  type: number;
  version: number;
  header: Buffer;
  body: Buffer;
}

function splitRecords(chunks: readonly CapturedChunk[], from: Side, notes: string[]): RecordIn[] {
  const out: RecordIn[] = [];
  let pending: Buffer = Buffer.alloc(0);
  for (const c of chunks) {
    if (c.from !== from) continue;
    pending = pending.length === 0 ? c.data : Buffer.concat([pending, c.data]);
    while (pending.length >= 5) {
      const length = pending.readUInt16BE(3);
      if (length > MAX_RECORD || !CONTENT_TYPES[pending[0]]) {
        notes.push(`${from}: bytes that are not a TLS record (type ${pending[0]}, length ${length}); decoding of this direction stops`);
        return out;
      }
      if (pending.length < 5 + length) break;
      out.push({ from, t: c.t, type: pending[0], version: pending.readUInt16BE(1), header: pending.subarray(0, 5), body: pending.subarray(5, 5 + length) });
      pending = pending.subarray(5 + length);
    }
  }
  if (pending.length > 0) notes.push(`${from}: ${pending.length} bytes of an unfinished record at the end of the capture`);
  return out;
}

interface HsMessage {
  from: Side;
  t: number;
  type: number;
  raw: Buffer;
  body: Buffer;
  encrypted: boolean;
  decrypted: boolean;
}

class HandshakeAssembler {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly from: Side) {}
  push(data: Buffer, t: number, encrypted: boolean, decrypted: boolean, out: HsMessage[]): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    while (this.pending.length >= 4) {
      const length = this.pending.readUIntBE(1, 3);
      if (length > MAX_HANDSHAKE_MESSAGE) throw new DecodeError(`handshake message of ${length} bytes is over the ${MAX_HANDSHAKE_MESSAGE}-byte limit`);
      if (this.pending.length < 4 + length) break;
      const raw = this.pending.subarray(0, 4 + length);
      out.push({ from: this.from, t, type: raw[0], raw, body: raw.subarray(4), encrypted, decrypted });
      this.pending = this.pending.subarray(4 + length);
    }
  }
}

const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

// ---- the decoder ------------------------------------------------------------------------------------

interface KeyLog {
  byLabel: Map<string, Buffer>;
}

function parseKeyLog(lines: readonly string[], clientRandom: Buffer | undefined): KeyLog {
  const byLabel = new Map<string, Buffer>();
  const want = clientRandom?.toString('hex');
  for (const line of lines) {
    const [label, random, secret] = line.trim().split(' ');
    if (!label || !random || !secret) continue;
    if (want && random.toLowerCase() !== want) continue;
    byLabel.set(label, Buffer.from(secret, 'hex'));
  }
  return { byLabel };
}

function certificateFields(der: Buffer, index: number): Field[] {
  try {
    const x = new X509Certificate(der);
    const fields: Field[] = [
      { name: `certificate ${index} subject`, value: x.subject.replace(/\n/g, ', ') },
      { name: `certificate ${index} issuer`, value: x.issuer.replace(/\n/g, ', ') },
      { name: `certificate ${index} valid`, value: `${x.validFrom} to ${x.validTo}` },
    ];
    if (x.subjectAltName) fields.push({ name: `certificate ${index} names`, value: x.subjectAltName });
    const key = x.publicKey;
    const bits = key.asymmetricKeyDetails?.modulusLength;
    fields.push({
      name: `certificate ${index} public key`,
      value: `${key.asymmetricKeyType ?? '?'}${bits ? ` ${bits} bits` : key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`,
    });
    fields.push({ name: `certificate ${index} SHA-256 fingerprint`, value: x.fingerprint256 });
    return fields;
  } catch {
    return [{ name: `certificate ${index}`, value: `${der.length} bytes (not parsable as X.509)` }];
  }
}

interface State {
  version?: number;
  suite?: number;
  clientRandom?: Buffer;
  serverRandom?: Buffer;
  kexRsa?: boolean;
  ems?: boolean;
  transcript: Buffer[];
}

function decodeMessage(m: HsMessage, st: State, d: DecodedHandshake, opts: DecodeOptions): LadderMessage {
  let name = HANDSHAKE_TYPES[m.type] ?? `handshake type ${m.type}`;
  const out: LadderMessage = { from: m.from, name, t: m.t, bytes: m.raw.length, encrypted: m.encrypted, fields: [], explain: '' };
  if (m.decrypted) out.decrypted = true;
  const f = out.fields;
  try {
    const r = new Reader(m.body);
    switch (m.type) {
      case 1: {
        const legacy = r.u16();
        const random = r.bytes(32);
        const sid = r.vec8();
        const suites = u16List(r.vec16());
        const comp = r.vec8();
        st.clientRandom ??= random;
        d.clientRandom = random.toString('hex');
        const s: HelloSummary = {};
        f.push({ name: 'legacy_version', value: versionName(legacy) });
        f.push({ name: 'random', value: random.toString('hex') });
        f.push({ name: 'session_id', value: sid.length === 0 ? '(empty)' : hex(sid) });
        f.push({ name: `cipher_suites (${suites.length})`, value: suites.map(suiteName).join(', ') });
        f.push({ name: 'compression_methods', value: [...comp].map((c) => (c === 0 ? 'null' : String(c))).join(', ') });
        if (r.left > 0) f.push(...extensionFields(r.vec16(), 'client', 'ClientHello', s));
        d.serverName ??= s.serverName;
        break;
      }
      case 2: {
        const legacy = r.u16();
        const random = r.bytes(32);
        const sid = r.vec8();
        const suite = r.u16();
        const comp = r.u8();
        const s: HelloSummary = {};
        const hrr = random.toString('hex') === HRR_RANDOM;
        if (hrr) name = out.name = 'HelloRetryRequest';
        f.push({ name: 'legacy_version', value: versionName(legacy) });
        f.push({ name: 'random', value: hrr ? 'special value: HelloRetryRequest' : random.toString('hex') });
        f.push({ name: 'session_id', value: sid.length === 0 ? '(empty)' : hex(sid) });
        f.push({ name: 'cipher_suite', value: suiteName(suite) });
        f.push({ name: 'compression_method', value: comp === 0 ? 'null' : String(comp) });
        if (r.left > 0) f.push(...extensionFields(r.vec16(), 'server', 'ServerHello', s));
        if (!hrr) {
          st.serverRandom = random;
          st.version = s.selectedVersion ?? legacy;
          st.suite = suite;
          st.ems = s.extendedMasterSecret;
          st.kexRsa = st.version === 0x0303 && /^TLS_RSA_/.test(suiteName(suite));
          d.version = versionName(st.version);
          d.suite = suiteName(suite);
          if (s.group !== undefined) d.group = groupName(s.group);
          if (s.alpn?.[0]) d.alpn = s.alpn[0];
        }
        break;
      }
      case 8: {
        const s: HelloSummary = {};
        f.push(...extensionFields(r.vec16(), 'server', 'EncryptedExtensions', s));
        if (s.alpn?.[0]) d.alpn = s.alpn[0];
        if (f.length === 0) f.push({ name: 'extensions', value: '(none)' });
        break;
      }
      case 11: {
        if (st.version === 0x0304) {
          const ctx = r.vec8();
          if (ctx.length > 0) f.push({ name: 'certificate_request_context', value: hex(ctx) });
        }
        const list = new Reader(r.vec24());
        let i = 0;
        while (list.left > 0) {
          const der = list.vec24();
          if (st.version === 0x0304) list.vec16();
          f.push(...certificateFields(der, i++));
        }
        f.unshift({ name: 'certificates in chain', value: String(i) });
        break;
      }
      case 12: {
        const curveType = r.u8();
        if (curveType === 3) {
          const group = r.u16();
          const pub = r.vec8();
          d.group = groupName(group);
          f.push({ name: 'named_curve', value: groupName(group) });
          f.push({ name: 'public key', value: `${pub.length} bytes ${hex(pub, 16)}` });
          const alg = r.u16();
          const sig = r.vec16();
          f.push({ name: 'signature_algorithm', value: sigName(alg) });
          f.push({ name: 'signature', value: `${sig.length} bytes` });
        } else {
          f.push({ name: 'parameters', value: `${m.body.length} bytes (curve type ${curveType})` });
        }
        break;
      }
      case 14:
        f.push({ name: 'body', value: '(empty)' });
        break;
      case 16: {
        if (st.kexRsa) {
          name = out.name = 'ClientKeyExchange (RSA)';
          const enc = r.vec16();
          f.push({ name: 'encrypted pre-master secret', value: `${enc.length} bytes ${hex(enc, 24)}` });
          if (opts.rsaDecrypt) decryptPreMaster(enc, st, d);
        } else {
          name = out.name = 'ClientKeyExchange (ECDHE)';
          const pub = r.vec8();
          f.push({ name: 'public key', value: `${pub.length} bytes ${hex(pub, 16)}` });
        }
        break;
      }
      case 15: {
        const alg = r.u16();
        const sig = r.vec16();
        f.push({ name: 'algorithm', value: sigName(alg) });
        f.push({ name: 'signature', value: `${sig.length} bytes ${hex(sig, 16)}` });
        break;
      }
      case 20:
        f.push({ name: 'verify_data', value: hex(m.body) });
        break;
      case 4: {
        const lifetime = r.u16() * 65536 + r.u16();
        f.push({ name: 'ticket lifetime', value: `${lifetime} s` });
        if (st.version === 0x0304) {
          r.bytes(4);
          r.vec8();
        }
        f.push({ name: 'ticket', value: `${r.vec16().length} bytes` });
        break;
      }
      default:
        f.push({ name: 'body', value: `${m.body.length} bytes` });
    }
  } catch (err) {
    out.error = err instanceof DecodeError ? err.message : `cannot decode: ${(err as Error).message}`;
  }
  out.explain = EXPLAIN[name] ?? '';
  return out;

  function decryptPreMaster(enc: Buffer, s: State, dh: DecodedHandshake): void {
    const pm = opts.rsaDecrypt!(enc);
    if (!pm || pm.length !== 48) {
      dh.rsa = { preMaster: '', clientVersion: '', error: 'the pre-master secret did not decrypt to 48 bytes' };
      return;
    }
    dh.rsa = { preMaster: pm.toString('hex'), clientVersion: versionName(pm.readUInt16BE(0)) };
    const suite = s.suite !== undefined ? aeadSuite(s.suite) : undefined;
    if (suite && s.clientRandom && s.serverRandom) {
      // RFC 7627 §3: the session hash covers every handshake message up to and including ClientKeyExchange.
      const sessionHash = s.ems
        ? createHash(suite.hash)
            .update(Buffer.concat([...s.transcript, m.raw]))
            .digest()
        : undefined;
      dh.rsa.masterSecret = tls12MasterSecret(suite.hash, pm, s.clientRandom, s.serverRandom, sessionHash).toString('hex');
    }
  }
}

/** Decodes one captured handshake. Never throws. */
export function decodeHandshake(chunks: readonly CapturedChunk[], keylogLines: readonly string[], opts: DecodeOptions = {}): DecodedHandshake {
  const d: DecodedHandshake = { messages: [], keylog: [], bytes: { client: 0, server: 0 }, notes: [] };
  for (const c of chunks) d.bytes[c.from] += c.data.length;
  try {
    decodeInto(d, chunks, keylogLines, opts);
  } catch (err) {
    d.notes.push(`decoding stopped: ${(err as Error).message}`);
  }
  return d;
}

interface DirectionCrypto {
  keys: TrafficKeys[];
  epoch: number;
  seq: number;
  /** TLS 1.2: encryption on after this side's ChangeCipherSpec. */
  on: boolean;
}

function decodeInto(d: DecodedHandshake, chunks: readonly CapturedChunk[], keylogLines: readonly string[], opts: DecodeOptions): void {
  const max = opts.maxMessages ?? 200;
  const records = [...splitRecords(chunks, 'client', d.notes), ...splitRecords(chunks, 'server', d.notes)];
  // Stable order by arrival time; within a side the record order is kept.
  const order = records
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.t - b.r.t || a.i - b.i)
    .map((x) => x.r);
  const st: State = { transcript: [] };
  const asm = { client: new HandshakeAssembler('client'), server: new HandshakeAssembler('server') };
  const crypto: Record<Side, DirectionCrypto> = { client: { keys: [], epoch: 0, seq: 0, on: false }, server: { keys: [], epoch: 0, seq: 0, on: false } };
  let suite: AeadSuite | undefined;
  let keysReady = false;
  const appData = { client: 0, server: 0 };
  const appBytes = { client: 0, server: 0 };

  const setupKeys = (): void => {
    keysReady = true;
    if (st.suite === undefined || !st.clientRandom) return;
    suite = aeadSuite(st.suite);
    const log = parseKeyLog(keylogLines, st.clientRandom);
    d.keylog = keylogLines.filter((l) => l.split(' ')[1]?.toLowerCase() === st.clientRandom!.toString('hex')).map((l) => l.trim());
    if (!suite) {
      d.notes.push(`${suiteName(st.suite)} is not an AEAD suite: its encrypted records are not opened`);
      return;
    }
    if (st.version === 0x0304) {
      for (const [side, labels] of [
        ['client', ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0']],
        ['server', ['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0']],
      ] as const) {
        for (const label of labels) {
          const secret = log.byLabel.get(label);
          if (secret) crypto[side].keys.push(tls13TrafficKeys(suite, secret));
        }
      }
    } else if (st.serverRandom) {
      const master = log.byLabel.get('CLIENT_RANDOM');
      if (master) {
        const k = tls12Keys(suite, master, st.clientRandom, st.serverRandom);
        crypto.client.keys.push(k.client);
        crypto.server.keys.push(k.server);
      }
    }
    if (crypto.client.keys.length === 0 && crypto.server.keys.length === 0)
      d.notes.push('no key-log secrets for this connection: encrypted handshake messages are shown as sizes only');
  };

  const emitHandshake = (list: HsMessage[]): void => {
    for (const m of list) {
      if (d.messages.length >= max) return;
      const lm = decodeMessage(m, st, d, opts);
      d.messages.push(lm);
      if (m.type !== 4 && m.type !== 24) st.transcript.push(m.raw);
      if (m.type === 20 && st.version === 0x0304) {
        // RFC 8446 §7.1: after its Finished each side switches to application traffic keys.
        const c = crypto[m.from];
        c.epoch++;
        c.seq = 0;
      }
    }
  };

  for (const rec of order) {
    const side = rec.from;
    const c = crypto[side];
    if (rec.type === 22 && !(st.version === 0x0303 && c.on)) {
      const list: HsMessage[] = [];
      asm[side].push(rec.body, rec.t, false, false, list);
      emitHandshake(list);
      if (st.suite !== undefined && !keysReady) setupKeys();
      continue;
    }
    if (rec.type === 20) {
      if (d.messages.length < max)
        d.messages.push({
          from: side,
          name: 'ChangeCipherSpec',
          t: rec.t,
          bytes: rec.body.length,
          encrypted: false,
          fields: [{ name: 'value', value: hex(rec.body) }],
          explain: EXPLAIN.ChangeCipherSpec,
        });
      if (st.version === 0x0303) {
        c.on = true;
        c.seq = 0;
      }
      continue;
    }
    if (rec.type === 21 && !(st.version === 0x0303 && c.on) && rec.body.length === 2) {
      d.messages.push(alertMessage(side, rec.t, rec.body, false));
      continue;
    }
    // Encrypted: TLS 1.3 records after ServerHello, TLS 1.2 records after ChangeCipherSpec.
    if (!keysReady && st.suite !== undefined) setupKeys();
    let opened: { type: number; content: Buffer } | undefined;
    if (suite && st.version === 0x0304 && c.keys[c.epoch]) {
      opened = openTls13Record(suite, c.keys[c.epoch], c.seq, rec.header, rec.body);
    } else if (suite && st.version === 0x0303 && c.keys[0]) {
      const plain = openTls12Record(suite, c.keys[0], c.seq, rec.type, rec.version, rec.body);
      if (plain) opened = { type: rec.type, content: plain };
    }
    c.seq++;
    if (opened?.type === 22) {
      const list: HsMessage[] = [];
      try {
        asm[side].push(opened.content, rec.t, true, true, list);
      } catch (err) {
        d.notes.push(`${side}: ${(err as Error).message}`);
      }
      emitHandshake(list);
      continue;
    }
    if (opened?.type === 21 && opened.content.length === 2) {
      d.messages.push(alertMessage(side, rec.t, opened.content, true));
      continue;
    }
    const isApp = opened ? opened.type === 23 : rec.type === 23 && (st.version === 0x0303 ? c.on : true) && handshakeOver(d, side);
    if (isApp) {
      appData[side]++;
      appBytes[side] += rec.body.length;
      if (appData[side] <= 2 && d.messages.length < max) {
        d.messages.push({
          from: side,
          name: 'ApplicationData',
          t: rec.t,
          bytes: rec.body.length,
          encrypted: true,
          fields: [{ name: 'encrypted payload', value: `${rec.body.length} bytes` }],
          explain: EXPLAIN.ApplicationData,
        });
      }
      continue;
    }
    if (d.messages.length < max) {
      d.messages.push({
        from: side,
        name: 'Encrypted handshake record',
        t: rec.t,
        bytes: rec.body.length,
        encrypted: true,
        fields: [{ name: 'payload', value: `${rec.body.length} bytes (no key to open it)` }],
        explain: 'An encrypted record of the handshake; without the session secrets its content stays hidden.',
      });
    }
  }
  for (const side of ['client', 'server'] as const) {
    if (appData[side] > 2) d.notes.push(`${side}: ${appData[side] - 2} more application data records (${appBytes[side]} bytes in all) not listed`);
  }
  if (!keysReady && st.suite !== undefined) setupKeys();
  const names = new Set(d.messages.filter((m) => m.from === 'server').map((m) => m.name));
  if (names.has('ServerHello') && !names.has('Certificate') && (names.has('Finished') || names.has('ChangeCipherSpec'))) d.resumed = true;
  if (d.rsa?.masterSecret) {
    const logged = parseKeyLog(keylogLines, st.clientRandom).byLabel.get('CLIENT_RANDOM');
    if (logged) d.rsa.matchesKeyLog = d.rsa.masterSecret === logged.toString('hex');
  }
  if (d.keylog.length === 0) d.keylog = keylogLines.map((l) => l.trim()).filter(Boolean);
}

function handshakeOver(d: DecodedHandshake, side: Side): boolean {
  return d.messages.some((m) => m.from === side && m.name === 'Finished');
}

function alertMessage(from: Side, t: number, body: Buffer, encrypted: boolean): LadderMessage {
  const level = body[0] === 2 ? 'fatal' : 'warning';
  return {
    from,
    name: 'Alert',
    t,
    bytes: body.length,
    encrypted,
    ...(encrypted ? { decrypted: true } : {}),
    fields: [
      { name: 'level', value: level },
      { name: 'description', value: nameOf(ALERT_DESCRIPTIONS, body[1]) },
    ],
    explain: EXPLAIN.Alert,
  };
}

/** One-line summary of a decoded handshake for events and logs. */
export function summarise(d: DecodedHandshake): string {
  return [d.version, d.suite, d.group, d.alpn && `ALPN ${d.alpn}`, d.serverName && `SNI ${d.serverName}`].filter(Boolean).join(', ');
}

export { isGrease };
