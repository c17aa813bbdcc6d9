// The key derivations and record decryption the handshake decoder needs to open the encrypted part of
// a handshake whose secrets it holds (from the `keylog` event): TLS 1.3 HKDF-Expand-Label and
// traffic keys (RFC 8446 §7.1, §7.3, §5.2, §5.3), and the TLS 1.2 PRF and key block (RFC 5246 §5,
// §6.3; AES-GCM records per RFC 5288 §3, ChaCha20-Poly1305 per RFC 7905 §2). Only AEAD suites: labnet
// offers nothing else.
import { createDecipheriv, createHmac } from 'node:crypto';

export interface AeadSuite {
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  hash: 'sha256' | 'sha384';
}

/** AEAD parameters of a suite by its IANA number, or undefined (CBC and others are not decrypted). */
export function aeadSuite(suite: number): AeadSuite | undefined {
  switch (suite) {
    case 0x1301:
    case 0xc02b:
    case 0xc02f:
    case 0x009c:
    case 0x009e:
      return { cipher: 'aes-128-gcm', keyLength: 16, hash: 'sha256' };
    case 0x1302:
    case 0xc02c:
    case 0xc030:
    case 0x009d:
    case 0x009f:
      return { cipher: 'aes-256-gcm', keyLength: 32, hash: 'sha384' };
    case 0x1303:
    case 0xcca8:
    case 0xcca9:
    case 0xccaa:
      return { cipher: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' };
    default:
      return undefined;
  }
}

function hkdfExpand(hash: string, prk: Buffer, info: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let prev = Buffer.alloc(0);
  let total = 0;
  for (let i = 1; total < length; i++) {
    prev = createHmac(hash, prk)
      .update(prev)
      .update(info)
      .update(Buffer.from([i]))
      .digest();
    out.push(prev);
    total += prev.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand-Label(Secret, Label, Context, Length), RFC 8446 §7.1. */
export function hkdfExpandLabel(hash: string, secret: Buffer, label: string, context: Buffer, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([context.length]), context]);
  return hkdfExpand(hash, secret, info, length);
}

export interface TrafficKeys {
  key: Buffer;
  iv: Buffer;
}

/** [sender]_write_key and _iv from a TLS 1.3 traffic secret (RFC 8446 §7.3). */
export function tls13TrafficKeys(suite: AeadSuite, secret: Buffer): TrafficKeys {
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', Buffer.alloc(0), suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', Buffer.alloc(0), 12),
  };
}

function seqBytes(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

function xorNonce(iv: Buffer, seq: number): Buffer {
  const nonce = Buffer.from(iv);
  const s = seqBytes(seq);
  for (let i = 0; i < 8; i++) nonce[nonce.length - 8 + i] ^= s[i];
  return nonce;
}

function open(cipher: AeadSuite['cipher'], key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  try {
    const d = createDecipheriv(cipher, key, nonce, { authTagLength: 16 } as never) as ReturnType<typeof createDecipheriv> & {
      setAAD(b: Buffer, o?: unknown): void;
      setAuthTag(b: Buffer): void;
    };
    d.setAAD(aad, { plaintextLength: sealed.length - 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Opens one TLS 1.3 record (RFC 8446 §5.2): returns the real content type and content with the
 * padding removed, or undefined when the key does not fit.
 */
export function openTls13Record(suite: AeadSuite, keys: TrafficKeys, seq: number, header: Buffer, body: Buffer): { type: number; content: Buffer } | undefined {
  const plain = open(suite.cipher, keys.key, xorNonce(keys.iv, seq), header, body);
  if (!plain) return undefined;
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  if (end === 0) return undefined;
  return { type: plain[end - 1], content: plain.subarray(0, end - 1) };
}

/** TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed). */
export function tls12Prf(hash: string, secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let total = 0;
  while (total < length) {
    a = createHmac(hash, secret).update(a).digest();
    const p = createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(p);
    total += p.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

export interface Tls12Keys {
  client: TrafficKeys;
  server: TrafficKeys;
}

/** The TLS 1.2 key block (RFC 5246 §6.3) for an AEAD suite: write keys and implicit IVs. */
export function tls12Keys(suite: AeadSuite, master: Buffer, clientRandom: Buffer, serverRandom: Buffer): Tls12Keys {
  const ivLength = suite.cipher === 'chacha20-poly1305' ? 12 : 4;
  const block = tls12Prf(suite.hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 2 * suite.keyLength + 2 * ivLength);
  const k = suite.keyLength;
  return {
    client: { key: block.subarray(0, k), iv: block.subarray(2 * k, 2 * k + ivLength) },
    server: { key: block.subarray(k, 2 * k), iv: block.subarray(2 * k + ivLength, 2 * k + 2 * ivLength) },
  };
}

/** The TLS 1.2 master secret from a pre-master secret (RFC 5246 §8.1; RFC 7627 §4 when extended). */
export function tls12MasterSecret(hash: string, preMaster: Buffer, clientRandom: Buffer, serverRandom: Buffer, sessionHash?: Buffer): Buffer {
  if (sessionHash) return tls12Prf(hash, preMaster, 'extended master secret', sessionHash, 48);
  return tls12Prf(hash, preMaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
}

/** Opens one TLS 1.2 AEAD record (RFC 5288 §3 / RFC 7905 §2); returns the plaintext or undefined. */
export function openTls12Record(suite: AeadSuite, keys: TrafficKeys, seq: number, type: number, version: number, body: Buffer): Buffer | undefined {
  let nonce: Buffer;
  let sealed: Buffer;
  if (suite.cipher === 'chacha20-poly1305') {
    nonce = xorNonce(keys.iv, seq);
    sealed = body;
  } else {
    if (body.length < 8 + 16) return undefined;
    nonce = Buffer.concat([keys.iv, body.subarray(0, 8)]);
    sealed = body.subarray(8);
  }
  const plainLength = sealed.length - 16;
  if (plainLength < 0) return undefined;
  const aad = Buffer.concat([seqBytes(seq), Buffer.from([type, version >> 8, version & 0xff, plainLength >> 8, plainLength & 0xff])]);
  return open(suite.cipher, keys.key, nonce, aad, sealed);
}
