// The handshake tap on live node:tls connections: captures both directions and the key log, keeps
// only the most recent handshakes (the oldest are evicted and forgotten), stops recording shortly
// after the handshake, and decodes lazily.
import test from 'ava';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { loadOrCreateLabCertificates } from '../../core/tls/lab-ca.js';
import { HandshakeLog } from '../../core/tls/handshake-tap.js';
import { alpnGuard, modernContextOptions } from '../../core/tls/tls-options.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('the ring keeps the newest handshakes; each decodes to its own client', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-tap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = await loadOrCreateLabCertificates({ dataDir: dir, hostname: 'tap.lab.test', domain: 'lab.test', listen: '127.0.0.1' });
  const ctx = tls.createSecureContext(modernContextOptions({ key: certs.server.keyPem, cert: certs.server.certPem }));
  const log = new HandshakeLog(2);
  const sockets: tls.TLSSocket[] = [];
  const server = net.createServer((raw) => {
    const s = log.wrap(raw, { secureContext: ctx, ALPNCallback: alpnGuard(['http/1.1']) }, 'test', {});
    sockets.push(s);
    s.on('error', () => {});
    // A large response after the handshake: the capture must stop, not keep it.
    s.on('data', () => s.end(Buffer.alloc(200_000, 0x61)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const names = ['one.lab.test', 'two.lab.test', 'three.lab.test'];
  for (const name of names) {
    await new Promise<void>((resolve, reject) => {
      const c = tls.connect(
        { host: '127.0.0.1', port, servername: name, ca: certs.ca.certPem, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] },
        () => c.write('GET / HTTP/1.1\r\n\r\n'),
      );
      c.on('data', () => {});
      c.on('end', () => resolve());
      c.on('error', reject);
    });
  }
  const recent = log.recent();
  t.is(recent.length, 2);
  t.deepEqual(
    recent.map((c) => c.decode().serverName),
    ['three.lab.test', 'two.lab.test'],
  );
  t.is(log.forSocket(sockets[0]), undefined, 'the evicted handshake is forgotten');
  t.is(log.forSocket(sockets[2]), recent[0]);
  const newest = recent[0];
  t.false(newest.capturing);
  t.true(newest.bytesCaptured < 40_000, `captured ${newest.bytesCaptured} bytes of a 200 KB response`);
  t.true(newest.keylog.length >= 5);
  t.is(newest.alpn, 'http/1.1');
  const d = newest.decode();
  t.is(d.version, 'TLS 1.3');
  t.true(d.messages.some((m) => m.name === 'Finished' && m.from === 'client' && m.decrypted === true));
  t.is(newest.decode(), d, 'decoded once, then kept');
});

test('the per-second budget: past it connections are not tapped, and counted', (t) => {
  const log = new HandshakeLog(10, 3);
  t.deepEqual([log.admit(), log.admit(), log.admit(), log.admit(), log.admit()], [true, true, true, false, false]);
  t.is(log.untapped, 2);
  const unlimited = new HandshakeLog(10, 0);
  for (let i = 0; i < 1000; i++) t.true(unlimited.admit());
  t.is(unlimited.untapped, 0);
});
