// The engine is reusable: the same `engine.serve(conn)` over implicit TLS (what the HTTP service's TLS
// listener does), a site-specific route added with one call, and a route on the shared registry
// (TOKENS.HttpRoutes, where the TLS material publishes /ca.crt) served by every site. A route that
// throws is isolated, on both plain transports (raw and net).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EventBus } from '../../core/events.js';
import { HttpEngine } from '../../core/http/engine.js';
import { DEFAULT_HTTP_LIMITS, httpListenerOptions } from '../../core/http/limits.js';
import { HttpRouteRegistry } from '../../core/http/routes.js';
import { HttpSite } from '../../core/http/site.js';
import { TcpServer } from '../../core/tcp-server.js';
import type { TransportKind } from '../../core/transport.js';
import { curl } from './raw-client.js';

/** A small site in `dir` (document root and upload area created by start()). */
function testSite(dir: string, events: EventBus, shared?: HttpRouteRegistry): HttpSite {
  return new HttpSite({
    documentRoot: join(dir, 'www'),
    uploadDir: join(dir, 'uploads'),
    trace: false,
    uploadMaxFileBytes: 1000,
    uploadMaxFiles: 2,
    limits: { ...DEFAULT_HTTP_LIMITS, headerTimeoutMs: 2000, keepAliveTimeoutMs: 5000 },
    events,
    ...(shared ? { shared } : {}),
    lab: { hostname: 'labnet.lab.test', domain: 'lab.test', users: [], showPasswords: false, status: () => [], startedAt: Date.now() },
  });
}

test('the engine runs unchanged over TLS, with a site route and a shared route', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-http-tls-'));
  const events = new EventBus();
  const shared = new HttpRouteRegistry();
  const site = testSite(dir, events, shared);
  const engine = new HttpEngine(site);
  let server: TcpServer | undefined;
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost', '-days', '1'],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    await site.start();
    engine.start();
    site.routes.add({
      path: '/tls',
      methods: ['GET'],
      description: 'the TLS session of this request',
      handler: (ex) => ex.send(200, 'Content-Type: text/plain\r\n', `protocol ${ex.conn.tlsSocket?.getProtocol() ?? 'none'}\n`),
    });
    shared.add({ path: '/ca.crt', methods: ['GET'], handler: (ex) => ex.send(200, 'Content-Type: application/x-x509-ca-cert\r\n', cert) });
    server = new TcpServer(
      {
        service: 'https',
        address: '127.0.0.1',
        port: 0,
        maxConnections: 100,
        maxConnectionsPerAddress: 100,
        ...httpListenerOptions(DEFAULT_HTTP_LIMITS),
        handler: engine.serve,
        tls: { options: () => ({ key, cert }) },
      },
      events,
      pino({ level: 'silent' }),
      Date.now,
    );
    await server.listen();
    const base = `https://127.0.0.1:${server.port}`;
    const r = await curl(['-k', `${base}/tls`, `${base}/hello.txt`, `${base}/ca.crt`]);
    t.is(r.code, 0, r.stderr);
    const out = r.stdout.toString();
    t.regex(out, /^protocol TLSv1\.[23]\nHello, world\n-----BEGIN CERTIFICATE-----/);
    const head = await curl(['-k', '-I', `${base}/tls`]);
    t.regex(head.stdout.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    const landing = await curl(['-k', `${base}/`]);
    t.regex(landing.stdout.toString(), /\/tls<\/a> the TLS session of this request/);
    const post = await curl(['-k', '-i', '-d', 'x', `${base}/tls`]);
    t.regex(post.stdout.toString(), /^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*Allow: GET, HEAD, OPTIONS\r\n/);
  } finally {
    await server?.close(500);
    engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const routeThatThrows = test.macro(async (t, transport: TransportKind) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-http-throw-'));
  const events = new EventBus();
  const notices: string[] = [];
  events.subscribe((e) => {
    if (e.type === 'notice') notices.push(e.message);
  });
  const site = testSite(dir, events);
  const engine = new HttpEngine(site);
  const logged: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
  let server: TcpServer | undefined;
  try {
    await site.start();
    engine.start();
    site.routes.add({
      path: '/boom',
      methods: ['GET'],
      handler: () => {
        throw new Error('the route broke');
      },
    });
    site.routes.add({
      path: '/later',
      methods: ['GET'],
      handler: async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('the route broke later');
      },
    });
    server = new TcpServer(
      {
        service: 'http',
        address: '127.0.0.1',
        port: 0,
        maxConnections: 100,
        maxConnectionsPerAddress: 100,
        ...httpListenerOptions(DEFAULT_HTTP_LIMITS),
        transport,
        handler: engine.serve,
      },
      events,
      logger,
      Date.now,
    );
    await server.listen();
    t.is(server.transport, transport);
    const base = `http://127.0.0.1:${server.port}`;
    for (const path of ['/boom', '/later']) {
      // Two URLs on one curl run: the first fails with 500 and its connection closes, so curl opens
      // a second connection for the next one, which the server still answers.
      const r = await curl(['-i', '-v', `${base}${path}`, `${base}/hello.txt`]);
      const out = r.stdout.toString();
      t.regex(out, /^HTTP\/1\.1 500 Internal Server Error\r\n[^]*Connection: close\r\n/, path);
      t.regex(out, /Hello, world\n$/, path);
      t.regex(r.stderr, /Closing connection|shutting down connection|closed/i, path);
    }
    t.true(
      logged.some((l) => l.includes('the route broke') && l.includes('session handler failed')),
      logged.join('\n'),
    );
    t.true(
      logged.some((l) => l.includes('the route broke later')),
      logged.join('\n'),
    );
    t.true(
      notices.some((m) => m.includes('internal error: the route broke')),
      notices.join('\n'),
    );
    // curl has exited; its last connection is closed on our side as soon as its FIN arrives.
    for (let i = 0; i < 40 && server.stats().open > 0; i++) await new Promise((r) => setTimeout(r, 50));
    t.is(server.stats().open, 0);
  } finally {
    await server?.close(500);
    engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const transport of ['raw', 'net'] as const)
  test(`a route that throws: that request gets 500 and its connection closes; the server logs it and goes on (${transport})`, routeThatThrows, transport);
