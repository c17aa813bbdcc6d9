// The lab CA: made once, reused, the server certificate remade (same CA) when its names no longer
// cover the config; configured certificate files replace the generated ones; the demo switch.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { startLabnet } from '../../app/labnet.js';
import { certificateNames, loadOrCreateLabCertificates, requiredNames } from '../../core/tls/lab-ca.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'labnet-ca-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const base = { hostname: 'labnet.lab.test', domain: 'lab.test', listen: '127.0.0.1' };

test('made once with the right names and constraints, then reused', async (t) => {
  const dataDir = tempDir(t);
  const progress: string[] = [];
  const first = await loadOrCreateLabCertificates({ ...base, dataDir, progress: (m) => progress.push(m) });
  t.is(first.origin, 'generated');
  t.true(progress.some((m) => /generating lab CA key \(RSA 2048, node:crypto\)/.test(m)));
  const ca = new X509Certificate(first.ca.certPem);
  const server = new X509Certificate(first.server.certPem);
  t.true(ca.ca);
  t.false(server.ca);
  t.true(server.checkIssued(ca));
  t.true(server.verify(ca.publicKey));
  t.true(server.checkHost('labnet.lab.test') !== undefined);
  t.true(server.checkHost('localhost') !== undefined);
  t.true(server.checkIP('127.0.0.1') !== undefined);
  t.true(server.checkIP('::1') !== undefined);
  t.is(server.checkHost('evil.example'), undefined);
  for (const n of requiredNames(base)) t.true(certificateNames(first.server.certPem).includes(n), n);
  t.regex(server.keyUsage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.1/); // serverAuth
  t.is(readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), first.ca.certPem);

  const again = await loadOrCreateLabCertificates({ ...base, dataDir });
  t.is(again.origin, 'reused');
  t.is(again.ca.certPem, first.ca.certPem);
  t.is(again.server.certPem, first.server.certPem);
});

test('a name the certificate does not cover renews the server certificate with the same CA', async (t) => {
  const dataDir = tempDir(t);
  const first = await loadOrCreateLabCertificates({ ...base, dataDir });
  const renewed = await loadOrCreateLabCertificates({ ...base, dataDir, extraNames: ['files.lab.test', '10.9.8.7'] });
  t.is(renewed.origin, 'renewed');
  t.is(renewed.ca.certPem, first.ca.certPem);
  t.not(renewed.server.certPem, first.server.certPem);
  t.is(renewed.server.keyPem, first.server.keyPem);
  const x = new X509Certificate(renewed.server.certPem);
  t.truthy(x.checkHost('files.lab.test'));
  // An address the CA was not made for is outside its name constraints: left out, and reported.
  t.is(x.checkIP('10.9.8.7'), undefined);
  t.deepEqual(renewed.notCovered, ['10.9.8.7']);
  t.false(renewed.caUnconstrained);
  t.true(x.verify(new X509Certificate(first.ca.certPem).publicKey));
  const hostChange = await loadOrCreateLabCertificates({ ...base, hostname: 'other.lab.test', dataDir });
  t.is(hostChange.origin, 'renewed');
  t.truthy(new X509Certificate(hostChange.server.certPem).checkHost('other.lab.test'));
});

function peerCertificate(port: number, ca?: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...(ca ? { ca } : { rejectUnauthorized: false }) }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on('error', reject);
  });
}

test('configured certFile/keyFile replace the generated certificate', async (t) => {
  const dataDir = tempDir(t);
  const key = join(dataDir, 'own.key');
  const cert = join(dataDir, 'own.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=own.example',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const lab = await startLabnet({
    defaults: false,
    dataDir,
    only: ['http'],
    logLevel: 'silent',
    config: { listen: '127.0.0.1', tls: { certFile: cert, keyFile: key }, services: { http: { enabled: true, port: 0, httpsPort: 0 } } },
  });
  try {
    const peer = await peerCertificate(lab.port('http', 'https'), readFileSync(cert, 'utf8'));
    t.is(peer.subject.CN, 'own.example');
  } finally {
    await lab.stop();
  }
});

test('handshakeDemo off: plain node:tls, /tls says the handshake is not recorded', async (t) => {
  const dataDir = tempDir(t);
  const lab = await startLabnet({
    defaults: false,
    dataDir,
    only: ['http'],
    logLevel: 'silent',
    config: { listen: '127.0.0.1', services: { http: { enabled: true, port: 0, httpsPort: 0, handshakeDemo: false } } },
  });
  try {
    const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const html = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: lab.port('http', 'https'), servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => {
        s.write('GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    t.regex(html, /^HTTP\/1\.1 200 /);
    t.regex(html, /handshakeDemo: false/);
    t.notRegex(html, /class="msg/);
  } finally {
    await lab.stop();
  }
});
