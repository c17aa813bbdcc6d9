// The handshake decoder against handshakes recorded from real clients (curl, openssl s_client; see
// fixtures/*.json, recorded by us against a tap server with a throw-away lab CA), with fast-check
// properties: any re-chunking decodes the same, hostile bytes never throw.
import test from 'ava';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { decodeHandshake, type CapturedChunk, type DecodedHandshake } from '../../core/tls/handshake-decoder.js';
import { isGrease, suiteName } from '../../core/tls/tls-names.js';
import { PROJECT_ROOT } from '../support/lab-process.js';

interface Fixture {
  name: string;
  rsaDemo: boolean;
  chunks: Array<{ from: 'client' | 'server'; t: number; hex: string }>;
  keylog: string[];
  serverKeyPem?: string;
}

const dir = join(PROJECT_ROOT, 'test', 'tls', 'fixtures');
const fixtures = new Map<string, Fixture>(
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const fx = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture;
      return [fx.name, fx];
    }),
);

function chunksOf(fx: Fixture): CapturedChunk[] {
  return fx.chunks.map((c) => ({ from: c.from, t: c.t, data: Buffer.from(c.hex, 'hex') }));
}

function rsaDecryptFor(fx: Fixture) {
  const key = forge.pki.privateKeyFromPem(fx.serverKeyPem!);
  return (b: Buffer) => Buffer.from(key.decrypt(b.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
}

function decodeFixture(name: string, withKeys = true): DecodedHandshake {
  const fx = fixtures.get(name);
  if (!fx) throw new Error(`missing fixture ${name}`);
  return decodeHandshake(chunksOf(fx), withKeys ? fx.keylog : [], fx.rsaDemo ? { rsaDecrypt: rsaDecryptFor(fx) } : {});
}

function names(d: DecodedHandshake): string[] {
  return d.messages.map((m) => m.name);
}

function field(d: DecodedHandshake, message: string, fieldName: string): string | undefined {
  return d.messages.find((m) => m.name === message)?.fields.find((f) => f.name === fieldName)?.value;
}

test('fixtures are present', (t) => {
  t.true(fixtures.size >= 8);
});

test('curl TLS 1.3: ClientHello fields, encrypted flight opened with the key log', (t) => {
  const d = decodeFixture('curl-tls13');
  t.is(d.version, 'TLS 1.3');
  t.is(d.suite, 'TLS_AES_128_GCM_SHA256');
  t.is(d.group, 'x25519');
  t.is(d.alpn, 'http/1.1');
  t.is(d.serverName, 'localhost');
  t.deepEqual(names(d).slice(0, 9), [
    'ClientHello',
    'ServerHello',
    'ChangeCipherSpec',
    'EncryptedExtensions',
    'Certificate',
    'CertificateVerify',
    'Finished',
    'ChangeCipherSpec',
    'Finished',
  ]);
  t.regex(field(d, 'ClientHello', 'extension supported_versions')!, /TLS 1\.3/);
  t.regex(field(d, 'ClientHello', 'extension key_share')!, /x25519: 32-byte public key/);
  t.regex(field(d, 'ClientHello', 'extension application_layer_protocol_negotiation')!, /http\/1\.1/);
  t.regex(field(d, 'ClientHello', 'extension psk_key_exchange_modes')!, /psk_dhe_ke/);
  t.regex(field(d, 'ClientHello', 'extension signature_algorithms')!, /rsa_pss_rsae_sha256/);
  t.regex(field(d, 'Certificate', 'certificate 0 subject')!, /CN=fixture\.lab\.test/);
  t.regex(field(d, 'Certificate', 'certificate 0 issuer')!, /labnet lab CA/);
  t.is(field(d, 'CertificateVerify', 'algorithm'), 'rsa_pss_rsae_sha256');
  for (const m of d.messages) {
    t.is(m.error, undefined, m.name);
    if (m.encrypted && m.name !== 'ApplicationData') t.true(m.decrypted, `${m.name} opened`);
  }
  t.true(d.keylog.some((l) => l.startsWith('CLIENT_HANDSHAKE_TRAFFIC_SECRET ')));
  t.true(d.keylog.every((l) => l.split(' ')[1] === d.clientRandom));
  t.true(names(d).includes('NewSessionTicket'));
  t.not(d.resumed, true);
});

test('curl TLS 1.2 ECDHE: the whole flight, Finished opened with the master secret', (t) => {
  const d = decodeFixture('curl-tls12');
  t.is(d.version, 'TLS 1.2');
  t.is(d.suite, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  t.deepEqual(names(d).slice(0, 10), [
    'ClientHello',
    'ServerHello',
    'Certificate',
    'ServerKeyExchange',
    'ServerHelloDone',
    'ClientKeyExchange (ECDHE)',
    'ChangeCipherSpec',
    'Finished',
    'ChangeCipherSpec',
    'Finished',
  ]);
  t.is(field(d, 'ServerKeyExchange', 'named_curve'), 'x25519');
  t.is(field(d, 'ServerKeyExchange', 'signature_algorithm'), 'rsa_pss_rsae_sha256');
  const finished = d.messages.filter((m) => m.name === 'Finished');
  t.is(finished.length, 2);
  for (const f of finished) {
    t.true(f.decrypted);
    t.is(f.bytes, 16); // 4-byte header + 12-byte verify_data (RFC 5246 §7.4.9)
  }
  t.true(d.keylog[0].startsWith('CLIENT_RANDOM '));
});

for (const [name, version, suite, group] of [
  ['openssl-tls13-chacha', 'TLS 1.3', 'TLS_CHACHA20_POLY1305_SHA256', 'x25519'],
  ['openssl-tls13-aes256', 'TLS 1.3', 'TLS_AES_256_GCM_SHA384', 'secp256r1 (P-256)'],
  ['openssl-tls12-p384', 'TLS 1.2', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'secp384r1 (P-384)'],
  ['openssl-tls12-chacha', 'TLS 1.2', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'x25519'],
] as const) {
  test(`${name}: ${version} ${suite} decoded and decrypted`, (t) => {
    const d = decodeFixture(name);
    t.is(d.version, version);
    t.is(d.suite, suite);
    t.is(d.group, group);
    const finished = d.messages.filter((m) => m.name === 'Finished');
    t.is(finished.length, 2);
    t.true(finished.every((m) => m.decrypted === true));
    t.deepEqual(d.notes, []);
  });
}

test('HelloRetryRequest: two ClientHellos, the retry named, the handshake still opened', (t) => {
  const d = decodeFixture('openssl-hrr');
  t.is(names(d).filter((n) => n === 'ClientHello').length, 2);
  t.true(names(d).includes('HelloRetryRequest'));
  t.is(d.group, 'secp256r1 (P-256)');
  t.true(d.messages.filter((m) => m.name === 'Finished').every((m) => m.decrypted === true));
});

test('RSA key exchange: the pre-master secret decrypted with the server key gives the logged master secret', (t) => {
  const d = decodeFixture('curl-rsa-kex');
  t.is(d.suite, 'TLS_RSA_WITH_AES_128_GCM_SHA256');
  t.true(names(d).includes('ClientKeyExchange (RSA)'));
  t.false(names(d).includes('ServerKeyExchange'));
  t.truthy(d.rsa);
  t.is(d.rsa!.preMaster.length, 96);
  t.is(d.rsa!.clientVersion, 'TLS 1.2');
  t.true(d.rsa!.matchesKeyLog);
});

test('without the key log the TLS 1.3 flight stays opaque and says so', (t) => {
  const d = decodeFixture('curl-tls13', false);
  t.deepEqual(names(d).slice(0, 3), ['ClientHello', 'ServerHello', 'ChangeCipherSpec']);
  t.false(names(d).includes('Certificate'));
  t.true(names(d).includes('Encrypted handshake record'));
  t.true(d.notes.some((n) => /no key-log secrets/.test(n)));
});

test('a wrong key opens nothing (AEAD tags are checked)', (t) => {
  const fx = fixtures.get('curl-tls13')!;
  const wrong = fx.keylog.map((l) => {
    const [a, b, c] = l.split(' ');
    return `${a} ${b} ${c.replace(/^./, (x) => (x === '0' ? '1' : '0'))}`;
  });
  const d = decodeHandshake(chunksOf(fx), wrong);
  t.false(d.messages.some((m) => m.decrypted));
});

test('GREASE values and unknown suites are named', (t) => {
  t.true(isGrease(0x0a0a));
  t.true(isGrease(0xfafa));
  t.false(isGrease(0x0a0b));
  t.regex(suiteName(0x1a1a), /GREASE/);
  t.regex(suiteName(0x1234), /unknown \(0x1234\)/);
});

function rechunk(chunks: CapturedChunk[], cuts: number[]): CapturedChunk[] {
  const out: CapturedChunk[] = [];
  let k = 0;
  for (const c of chunks) {
    let pos = 0;
    while (pos < c.data.length) {
      const n = Math.max(1, cuts[k++ % cuts.length]);
      out.push({ from: c.from, t: c.t, data: c.data.subarray(pos, pos + n) });
      pos += n;
    }
  }
  return out;
}

function comparable(d: DecodedHandshake) {
  return { v: d.version, s: d.suite, m: d.messages.map((m) => [m.from, m.name, m.bytes, m.fields, m.decrypted]), rsa: d.rsa };
}

test('property: any split of the recorded bytes decodes the same', (t) => {
  for (const name of ['curl-tls13', 'curl-tls12', 'curl-rsa-kex']) {
    const fx = fixtures.get(name)!;
    const opts = fx.rsaDemo ? { rsaDecrypt: rsaDecryptFor(fx) } : {};
    const whole = comparable(decodeHandshake(chunksOf(fx), fx.keylog, opts));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (cuts) => {
        t.deepEqual(comparable(decodeHandshake(rechunk(chunksOf(fx), cuts), fx.keylog, opts)), whole);
      }),
      { numRuns: 40 },
    );
  }
});

test('property: random bytes and mutated handshakes never throw', (t) => {
  const chunk = fc.record({
    from: fc.constantFrom<'client' | 'server'>('client', 'server'),
    t: fc.double({ min: 0, max: 100, noNaN: true }),
    data: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
  });
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 8 }), (chunks) => {
      const d = decodeHandshake(chunks, ['CLIENT_RANDOM zz 00', 'garbage']);
      t.true(Array.isArray(d.messages));
    }),
    { numRuns: 300 },
  );
  const fx = fixtures.get('curl-tls13')!;
  const all = Buffer.concat(
    chunksOf(fx)
      .filter((c) => c.from === 'client')
      .map((c) => c.data),
  );
  const server = Buffer.concat(
    chunksOf(fx)
      .filter((c) => c.from === 'server')
      .map((c) => c.data),
  );
  fc.assert(
    fc.property(fc.nat(all.length - 1), fc.nat(server.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(server.length), (i, j, v, cut) => {
      const c = Buffer.from(all);
      const s = Buffer.from(server);
      c[i] = v;
      s[j] = v;
      const d = decodeHandshake(
        [
          { from: 'client', t: 0, data: c },
          { from: 'server', t: 1, data: s.subarray(0, cut) },
        ],
        fx.keylog,
      );
      t.true(d.messages.length >= 0);
    }),
    { numRuns: 300 },
  );
});
