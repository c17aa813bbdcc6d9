// HTTPS used to be a service of its own (`services.https`, `--only https`); it is a listener of the
// HTTP service now. Old config files and options keep working: the section is rewritten into
// `services.http` with a warning that names the new keys, and conflicting site keys are refused.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, startLabnet } from '../../app/labnet.js';
import { LabnetError } from '../../core/errors.js';
import type { StartOptions } from '../../core/host.js';
import { startLabProcess } from '../support/lab-process.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function standalone(dataDir: string, services: Record<string, unknown>, extra: Partial<StartOptions> = {}): StartOptions {
  return { defaults: false, logLevel: 'silent', config: { listen: '127.0.0.1', dataDir, services }, ...extra };
}

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }), lines };
}

test('a services.https section becomes the TLS listener of the http service, with a warning naming the new keys', async (t) => {
  const dir = tempDir(t);
  const { logger, lines } = capturingLogger();
  const options = standalone(dir, { http: { port: 0 }, https: { port: 0, rsaDemo: true, rsaDemoPort: 0, keepAliveTimeoutMs: 2000 } }, { logger });
  const lab = await startLabnet(options);
  try {
    t.deepEqual(
      lab.services.http.listeners.map((l) => [l.name, Boolean(l.tls)]),
      [
        ['http', false],
        ['https', true],
        ['https-rsa-demo', true],
      ],
    );
    t.is(lab.config.services.http.keepAliveTimeoutMs, 2000);
    t.false('https' in lab.config.services);
    const warning = lines.find((l) => l.includes('services.https is part of services.http now'));
    t.truthy(warning, lines.join(''));
    t.regex(warning!, /services\.https\.port -> services\.http\.httpsPort/);
    t.regex(warning!, /services\.https\.keepAliveTimeoutMs -> services\.http\.keepAliveTimeoutMs/);
    // The caller's object is left as it was.
    t.deepEqual(Object.keys((options.config as { services: object }).services), ['http', 'https']);
  } finally {
    await lab.stop();
  }
});

test('services.https alone in a config of its own still means HTTPS without plain HTTP', async (t) => {
  const dir = tempDir(t);
  const lab = await startLabnet(standalone(dir, { https: { port: 0 } }));
  try {
    t.deepEqual(
      lab.services.http.listeners.map((l) => l.name),
      ['https'],
    );
  } finally {
    await lab.stop();
  }
  const off = loadConfig(standalone(dir, { https: { enabled: false, port: 0 } }));
  t.false(off.services.http.enabled, 'a disabled HTTPS alone runs nothing');
});

test('http disabled and https enabled in the old layout: the http service runs with its plain listener off', (t) => {
  const c = loadConfig({ logLevel: 'silent', config: { services: { http: { enabled: false }, https: { enabled: true, port: 8443 } } } });
  t.true(c.services.http.enabled);
  t.false(c.services.http.plain);
  t.true(c.services.http.https);
  t.is(c.services.http.httpsPort, 8443);
});

test('a site key given differently for http and https is refused, naming both', (t) => {
  const err = t.throws(() => loadConfig({ config: { services: { http: { trace: false }, https: { trace: true } } } }), { instanceOf: LabnetError });
  t.is(err?.code, 'CONFIG_INVALID');
  t.regex(err?.message ?? '', /services\.https\.trace: got true while services\.http\.trace is false/);
  t.regex(err?.message ?? '', /one site now/);
  const unknown = t.throws(() => loadConfig({ config: { services: { https: { bogus: 1 } } } }), { instanceOf: LabnetError });
  t.regex(unknown?.message ?? '', /services\.https\.bogus: unknown key/);
});

test('--only https runs the http service', (t) => {
  const c = loadConfig({ logLevel: 'silent', only: ['https', 'smtp'] });
  t.true(c.services.http.enabled);
  t.true(c.services.smtp.enabled);
  t.false(c.services.imap.enabled);
});

test('with both plain and TLS listeners off the config is refused', (t) => {
  const err = t.throws(() => loadConfig({ config: { services: { http: { plain: false, https: false } } } }), { instanceOf: LabnetError });
  t.regex(err?.message ?? '', /services\.http: .*at least one of plain, https and rsaDemo/);
});

test('an old config file still starts `labnet start`: the ready table shows the TLS listener under http', async (t) => {
  const lab = await startLabProcess({ only: ['https'], config: { services: { https: { port: 0, handshakeDemo: false } } } });
  try {
    t.true(lab.port('http', 'https') > 0);
    t.true(lab.port('http', 'http') > 0);
    t.regex(lab.stdout(), /services\.https is part of services\.http now/);
    t.regex(lab.stdout(), /--only https: https is part of the http service now/);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
