import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { type StartOptions } from '../../core/host.js';
import { ListenError, LabnetError, StartupError } from '../../core/errors.js';
import type { ProtocolEvent } from '../../core/events.js';
import { brokenModule, echoModule } from '../support/echo-service.js';
import { LineClient } from '../support/line-client.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function options(echo: Record<string, unknown> = {}, extra: Partial<StartOptions> = {}): StartOptions {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-host-'));
  dirs.push(dataDir);
  return {
    defaults: false,
    modules: [echoModule],
    logLevel: 'silent',
    config: { listen: '127.0.0.1', dataDir, limits: { shutdownGraceMs: 500 }, services: { echo: echo } },
    ...extra,
  };
}

test('a service starts on port 0, serves a session and publishes the dialogue as events', async (t) => {
  const lab = await startLabnet(options());
  const events: ProtocolEvent[] = [];
  lab.events.subscribe((e) => events.push(e));
  const c = await LineClient.connect(lab.port('echo'));
  t.is(await c.line(), '+OK echo ready');
  c.write('hello\r\nSECRET hunter2\r\nQUIT\r\n');
  t.is(await c.line(), 'ECHO hello');
  t.is(await c.line(), 'ECHO SECRET hunter2');
  t.is(await c.line(), '+OK bye');
  t.is(await c.line(), null);
  // The server publishes session.close when its side of the socket has closed; wait for it.
  for (let i = 0; i < 200 && !events.some((e) => e.type === 'session.close'); i++) await new Promise((r) => setTimeout(r, 10));
  const types = events.map((e) => e.type);
  t.deepEqual(
    types.filter((x) => x === 'session.open' || x === 'session.close'),
    ['session.open', 'session.close'],
  );
  const commands = events.filter((e) => e.type === 'command').map((e) => (e as { text: string }).text);
  t.deepEqual(commands, ['hello', 'SECRET <redacted>', 'QUIT']);
  t.false(JSON.stringify(events.filter((e) => e.type !== 'reply')).includes('hunter2'), 'secret not in command events');
  const close = events.find((e) => e.type === 'session.close') as Extract<ProtocolEvent, { type: 'session.close' }>;
  t.is(close.bytesIn, Buffer.byteLength('hello\r\nSECRET hunter2\r\nQUIT\r\n'));
  t.true(close.bytesOut > 0);
  const status = lab.status().find((s) => s.name === 'echo')!;
  t.is(status.state, 'running');
  t.is(status.bytesIn, close.bytesIn);
  await lab.stop();
});

test('a service that throws at start fails start-up: the others are stopped again, one StartupError names it', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const opts = options({ port }, { modules: [echoModule, brokenModule] });
  (opts.config as { services: Record<string, unknown> }).services.broken = {};
  const err = await t.throwsAsync(() => startLabnet(opts));
  t.true(err instanceof StartupError);
  t.is((err as StartupError).code, 'SERVICE_START_FAILED');
  t.regex(err.message, /could not start: 1 service failed; nothing is running\.\n {2}broken: .*broken on purpose/);
  t.deepEqual(
    (err as StartupError).failures.map((f) => f.service),
    ['broken'],
  );
  await t.throwsAsync(() => LineClient.connect(port), { code: 'ECONNREFUSED' }, 'echo was started and stopped again');
});

test('with tolerateFailures a service that throws at start is reported and left stopped while the others run', async (t) => {
  const opts = options({}, { modules: [echoModule, brokenModule], tolerateFailures: true });
  (opts.config as { services: Record<string, unknown> }).services.broken = {};
  const lab = await startLabnet(opts);
  t.is(lab.services.broken?.state, 'failed');
  t.regex(lab.services.broken?.error ?? '', /broken on purpose/);
  t.is(lab.services.echo?.state, 'running');
  const c = await LineClient.connect(lab.port('echo'));
  t.is(await c.line(), '+OK echo ready');
  c.end();
  await lab.stop();
});

test('an exception in one session closes that session with an error reply, never the process', async (t) => {
  const lab = await startLabnet(options());
  const a = await LineClient.connect(lab.port('echo'));
  const b = await LineClient.connect(lab.port('echo'));
  await a.line();
  await b.line();
  a.write('BOOM\r\n');
  t.is(await a.line(), '-ERR internal error');
  t.is(await a.line(), null);
  b.write('still here\r\n');
  t.is(await b.line(), 'ECHO still here');
  b.end();
  await lab.stop();
});

test('over-long lines get an error, the session goes on, too many end it', async (t) => {
  const lab = await startLabnet(options());
  const c = await LineClient.connect(lab.port('echo'));
  await c.line();
  c.write('x'.repeat(1000) + '\r\nok\r\n');
  t.is(await c.line(), '-ERR line too long');
  t.is(await c.line(), 'ECHO ok');
  c.write('y'.repeat(100) + '\r\n' + 'z'.repeat(100) + '\r\n');
  t.is(await c.line(), '-ERR line too long');
  t.is(await c.line(), '-ERR line too long');
  t.is(await c.line(), null, 'third bad command ends the session');
  await lab.stop();
});

test('per-address connection cap refuses the extra connection with the busy reply', async (t) => {
  const opts = options();
  (opts.config as { limits: Record<string, number> }).limits.maxConnectionsPerAddress = 2;
  const lab = await startLabnet(opts);
  const a = await LineClient.connect(lab.port('echo'));
  const b = await LineClient.connect(lab.port('echo'));
  await a.line();
  await b.line();
  const c = await LineClient.connect(lab.port('echo'));
  t.is(await c.line(), '-ERR busy (per-address)');
  t.is(await c.line(), null);
  const closed = new Promise<void>((resolve) => {
    const sub = lab.events.subscribe(
      () => {
        sub.unsubscribe();
        resolve();
      },
      { types: ['session.close'] },
    );
  });
  a.end();
  await closed;
  const d = await LineClient.connect(lab.port('echo'));
  t.is(await d.line(), '+OK echo ready', 'a slot frees when a session ends');
  b.end();
  d.end();
  await lab.stop();
});

test('idle sessions are closed with the idle reply', async (t) => {
  const lab = await startLabnet(options({ idleTimeoutMs: 200 }));
  const c = await LineClient.connect(lab.port('echo'));
  t.is(await c.line(), '+OK echo ready');
  t.is(await c.line(), '-ERR idle timeout');
  t.is(await c.line(), null);
  await lab.stop();
});

test('graceful shutdown: idle sessions get the shutdown reply, busy ones finish their command', async (t) => {
  const opts = options();
  (opts.config as { limits: Record<string, number> }).limits.shutdownGraceMs = 5000;
  const lab = await startLabnet(opts);
  const idle = await LineClient.connect(lab.port('echo'));
  const busy = await LineClient.connect(lab.port('echo'));
  await idle.line();
  await busy.line();
  const seen: string[] = [];
  lab.events.subscribe((e) => {
    if (e.type === 'command') seen.push(e.text);
  });
  busy.write('SLOW\r\n');
  // Stop only once the server is inside the slow command (the session is busy, not idle).
  for (let i = 0; i < 500 && !seen.includes('SLOW'); i++) await new Promise((r) => setTimeout(r, 10));
  t.true(seen.includes('SLOW'));
  const stopping = lab.stop();
  t.is(await idle.line(), '-ERR shutting down');
  t.is(await busy.line(), '+OK slow done');
  t.is(await busy.line(), '-ERR shutting down', 'the busy session is told why once its command is done');
  t.is(await busy.line(), null);
  await stopping;
  await t.throwsAsync(() => LineClient.connect(lab.port('echo')), undefined, 'no longer accepting');
});

test('a taken port fails start-up with a StartupError whose ListenError names service, port and cause', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const err = await t.throwsAsync(() => startLabnet(options({ port }, { tolerateFailures: true })));
  t.true(err instanceof StartupError, 'even with tolerateFailures');
  t.is((err as StartupError).code, 'LISTEN_FAILED');
  const [listen] = (err as StartupError).listenErrors;
  t.true(listen instanceof ListenError);
  t.is(listen.port, port);
  t.regex(listen.message, new RegExp(`echo cannot listen on 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
  t.regex(err.message, new RegExp(`echo\\s+127\\.0\\.0\\.1:${port}\\s+already in use \\(EADDRINUSE\\)\\nAnother program already listens on ${port}`));
  blocker.close();
});

test('a port offset that pushes a port past 65535 is a config error naming the key, never a wrapped port', async (t) => {
  const err = await t.throwsAsync(() => startLabnet(options({ port: 80 }, { portOffset: 65500 })));
  t.true(err instanceof LabnetError);
  t.is((err as LabnetError).code, 'CONFIG_INVALID');
  t.regex(err.message, /services\.echo\.port: 80 \+ --port-offset 65500 = 65580, past 65535/);
  t.regex(err.message, /use --port-offset 65455 or less/);
  const negative = await t.throwsAsync(() => startLabnet(options({ port: 80 }, { portOffset: -3 })));
  t.regex(negative.message, /invalid port offset: got -3/);
});

test('without the packaged defaults only the services named in the config run', async (t) => {
  const lab = await startLabnet(options({}, { modules: [echoModule, brokenModule] }));
  t.deepEqual(Object.keys(lab.services), ['echo']);
  t.is(lab.services.echo?.state, 'running');
  await lab.stop();
});

test('the port offset is added to every non-zero TCP port', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const free = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const lab = await startLabnet(options({ port: free - 7 }, { portOffset: 7 }));
  t.is(lab.port('echo'), free);
  await lab.stop();
});

test('config errors name the key, the bad value and what is expected', async (t) => {
  const bad = async (config: Record<string, unknown>) => {
    const err = await t.throwsAsync(() => startLabnet({ defaults: false, modules: [echoModule], logLevel: 'silent', config }));
    t.true(err instanceof LabnetError);
    return err.message;
  };
  t.regex(await bad({ lsiten: '127.0.0.1' }), /lsiten: unknown key \(got "127\.0\.0\.1"\)/);
  t.regex(await bad({ services: { echo: { port: 'eighty' } } }), /services\.echo\.port: got "eighty", expected a number/);
  t.regex(await bad({ services: { echo: { port: 70000 } } }), /services\.echo\.port: got 70000, expected a number <= 65535/);
  t.regex(await bad({ listen: 'localhost:80' }), /listen: got "localhost:80", expected an IPv4 or IPv6 address/);
  t.regex(await bad({ users: [{ name: 'alice' }] }), /users\[0\]\.password: got nothing, expected a string/);
  t.regex(await bad({ services: { ehco: {} } }), /services\.ehco: unknown key/);
});

test('STARTTLS: plaintext pipelined after STARTTLS is discarded, not executed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-tls-'));
  dirs.push(dir);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
    ],
    { stdio: 'ignore' },
  );
  const tlsConfig = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  const lab = await startLabnet(options({ tls: tlsConfig }));
  const events: ProtocolEvent[] = [];
  lab.events.subscribe((e) => events.push(e));
  const c = await LineClient.connect(lab.port('echo'));
  await c.line();
  // The injection: a command in the same packet as STARTTLS (CVE-2011-0411).
  c.write('STARTTLS\r\nINJECTED\r\n');
  t.is(await c.line(), '+OK begin TLS');
  await c.startTls({ ca: tlsConfig.cert, servername: 'localhost' });
  c.write('after\r\n');
  t.is(await c.line(), 'ECHO after (tls)', 'the first reply over TLS answers the first command sent over TLS');
  c.write('QUIT\r\n');
  t.is(await c.line(), '+OK bye');
  await lab.events.settled();
  const commands = events.filter((e) => e.type === 'command').map((e) => (e as { text: string }).text);
  t.false(commands.includes('INJECTED'));
  const step = events.find((e) => e.type === 'tls') as Extract<ProtocolEvent, { type: 'tls' }>;
  t.is(step.detail.discardedPlaintextOctets, 'INJECTED\r\n'.length);
  await lab.stop();
});
