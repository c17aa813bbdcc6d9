// tls.requireTlsForAuth: no authentication over plain text. SMTP does not offer AUTH before STARTTLS
// and answers 530; POP3 hides USER/SASL and refuses them with -ERR [AUTH]; IMAP says LOGINDISABLED
// and refuses LOGIN with NO [PRIVACYREQUIRED]. After TLS everything works.
import test from 'ava';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { type LabnetHandle } from '../../core/host.js';

let lab: LabnetHandle;
let dataDir: string;
let ca: string;

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'labnet-reqtls-'));
  lab = await startLabnet({
    dataDir,
    logLevel: 'silent',
    only: ['smtp', 'pop3', 'imap'],
    config: {
      listen: '127.0.0.1',
      tls: { requireTlsForAuth: true },
      services: {
        smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
        pop3: { port: 0, pop3sPort: 0 },
        imap: { port: 0, imapsPort: 0 },
      },
    },
  });
  ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
});

test.after.always(async () => {
  await lab?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Sends `lines` one at a time, collecting the reply text to each (until `done` matches). */
async function dialogue(socket: net.Socket, steps: Array<[string | null, RegExp]>): Promise<string[]> {
  let buf = '';
  socket.on('data', (d: Buffer) => (buf += d.toString('latin1')));
  const out: string[] = [];
  for (const [send, done] of steps) {
    if (send !== null) socket.write(send);
    const deadline = Date.now() + 15_000;
    while (!done.test(buf)) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${done} after ${JSON.stringify(send)}; got ${JSON.stringify(buf)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    out.push(buf);
    buf = '';
  }
  return out;
}

function plain(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function implicit(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(s));
    s.on('error', reject);
  });
}

test('SMTP: AUTH neither offered nor accepted before TLS; offered over SMTPS', async (t) => {
  const s = await plain(lab.port('smtp', 'submission'));
  const [, ehlo, auth] = await dialogue(s, [
    [null, /^220 .*\r\n/m],
    ['EHLO probe\r\n', /^250 .*\r\n/m],
    ['AUTH PLAIN AGFsaWNlAGFsaWNlLWxhYg==\r\n', /^\d{3} .*\r\n/m],
  ]);
  t.regex(ehlo, /250-STARTTLS/);
  t.notRegex(ehlo, /AUTH/);
  t.regex(auth, /^530 5\.7\.0 /);
  s.destroy();
  const secure = await implicit(lab.port('smtp', 'smtps'));
  const [, ehlo2, auth2] = await dialogue(secure, [
    [null, /^220 .*\r\n/m],
    ['EHLO probe\r\n', /^250 .*\r\n/m],
    ['AUTH PLAIN AGFsaWNlAGFsaWNlLWxhYg==\r\n', /^\d{3} .*\r\n/m],
  ]);
  t.regex(ehlo2, /250-AUTH PLAIN LOGIN/);
  t.regex(auth2, /^235 /);
  secure.destroy();
});

test('POP3: USER and SASL hidden and refused before TLS; fine over POP3S', async (t) => {
  const s = await plain(lab.port('pop3', 'pop3'));
  const [, capa, user] = await dialogue(s, [
    [null, /^\+OK .*\r\n/m],
    ['CAPA\r\n', /^\.\r\n/m],
    ['USER alice\r\n', /^[+-].*\r\n/m],
  ]);
  t.regex(capa, /^STLS\r$/m);
  t.notRegex(capa, /^USER\r$/m);
  t.notRegex(capa, /^SASL/m);
  t.regex(user, /^-ERR \[AUTH\] /);
  s.destroy();
  const secure = await implicit(lab.port('pop3', 'pop3s'));
  const [, capa2, , pass] = await dialogue(secure, [
    [null, /^\+OK .*\r\n/m],
    ['CAPA\r\n', /^\.\r\n/m],
    ['USER alice\r\n', /^[+-].*\r\n/m],
    ['PASS alice-lab\r\n', /^[+-].*\r\n/m],
  ]);
  t.regex(capa2, /^USER\r$/m);
  t.notRegex(capa2, /^STLS/m);
  t.regex(pass, /^\+OK /);
  secure.destroy();
});

test('IMAP: LOGINDISABLED and NO [PRIVACYREQUIRED] before TLS; AUTH=PLAIN and LOGIN over IMAPS', async (t) => {
  const s = await plain(lab.port('imap', 'imap'));
  const [greeting, login] = await dialogue(s, [
    [null, /^\* OK .*\r\n/m],
    ['a LOGIN alice alice-lab\r\n', /^a .*\r\n/m],
  ]);
  t.regex(greeting, /STARTTLS LOGINDISABLED/);
  t.notRegex(greeting, /AUTH=PLAIN/);
  t.regex(login, /^a NO \[PRIVACYREQUIRED\] /);
  s.destroy();
  const secure = await implicit(lab.port('imap', 'imaps'));
  const [greeting2, login2] = await dialogue(secure, [
    [null, /^\* OK .*\r\n/m],
    ['a LOGIN alice alice-lab\r\n', /^a .*\r\n/m],
  ]);
  t.regex(greeting2, /AUTH=PLAIN/);
  t.notRegex(greeting2, /LOGINDISABLED|STARTTLS/);
  t.regex(login2, /^a OK /);
  secure.destroy();
});
