// TLS for the mail services against the real labnet process: openssl s_client -starttls for SMTP,
// POP3 and IMAP; implicit TLS on the SMTPS/POP3S/IMAPS listeners; STARTTLS injection probes (a
// command pipelined after STARTTLS/STLS must not be executed); the ALPN guard; nodemailer over
// STARTTLS and over SMTPS with the lab CA; imapflow over IMAPS reading what nodemailer sent.
import test from 'ava';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { runTool } from './run-tool.js';

let lab: LabProcess;
let ca: string;
let caFile: string;

test.before(async () => {
  lab = await startLabProcess({
    only: ['smtp', 'pop3', 'imap'],
    config: {
      services: {
        smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
        pop3: { port: 0, pop3sPort: 0 },
        imap: { port: 0, imapsPort: 0 },
      },
    },
    timeoutMs: 30_000,
  });
  caFile = join(lab.dataDir, 'tls', 'ca.crt');
  ca = readFileSync(caFile, 'utf8');
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

/** A line reader over a socket (plain or TLS). */
class Lines {
  private buf = '';
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async line(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(this.buf)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  /** Reads lines until one matches. */
  async until(re: RegExp): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (re.test(l)) return out;
    }
  }
  get pending(): string {
    return this.buf;
  }
}

function connectPlain(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function startTls(socket: net.Socket, alpn?: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, ca, servername: 'localhost', ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => resolve(t));
    t.on('error', reject);
  });
}

function connectTls(port: number, alpn?: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => resolve(t));
    t.on('error', reject);
  });
}

for (const [service, listener, proto, hello] of [
  ['smtp', 'smtp', 'smtp', 'EHLO probe\r\nQUIT\r\n'],
  ['smtp', 'submission', 'smtp', 'EHLO probe\r\nQUIT\r\n'],
  ['pop3', 'pop3', 'pop3', 'CAPA\r\nQUIT\r\n'],
  ['imap', 'imap', 'imap', 'a CAPABILITY\r\nb LOGOUT\r\n'],
] as const) {
  test(`openssl s_client -starttls ${proto} on ${listener} verifies the lab certificate`, async (t) => {
    const r = await runTool(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${lab.port(service, listener)}`, '-starttls', proto, '-CAfile', caFile, '-verify_return_error', '-ign_eof'],
      { input: hello, keepStdinOpenMs: 2000 },
    );
    t.regex(r.stdout, /Verify return code: 0 \(ok\)/);
    t.regex(r.stdout, /New, TLSv1\.3, Cipher is TLS_/);
    if (proto === 'smtp') {
      t.regex(r.stdout, /250-AUTH PLAIN LOGIN/);
      t.notRegex(r.stdout.slice(r.stdout.indexOf('Verify return code')), /STARTTLS/);
    }
    if (proto === 'pop3') t.regex(r.stdout, /\+OK/);
    if (proto === 'imap') {
      t.regex(r.stdout, /\* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN/);
      t.regex(r.stdout, /a OK/);
    }
  });
}

test('implicit TLS: SMTPS, POP3S and IMAPS greet over TLS; another ALPN protocol is refused', async (t) => {
  for (const [service, listener, greeting, alpn] of [
    ['smtp', 'smtps', /^220 /, 'smtp'],
    ['pop3', 'pop3s', /^\+OK /, 'pop3'],
    ['imap', 'imaps', /^\* OK /, 'imap'],
  ] as const) {
    const port = lab.port(service, listener);
    const s = await connectTls(port);
    t.true(s.authorized, listener);
    t.regex(await new Lines(s).line(), greeting, listener);
    s.destroy();
    const own = await connectTls(port, [alpn]);
    t.is(own.alpnProtocol, alpn);
    own.destroy();
    const err = await connectTls(port, ['http/1.1']).then(
      (x) => {
        x.destroy();
        return 'connected';
      },
      (e: Error) => e.message,
    );
    t.regex(err, /no application protocol/i, listener);
  }
});

test('SMTP STARTTLS injection: a command pipelined after STARTTLS is not executed', async (t) => {
  const plain = await connectPlain(lab.port('smtp', 'submission'));
  const lines = new Lines(plain);
  t.regex(await lines.line(), /^220 /);
  plain.write('EHLO probe\r\n');
  await lines.until(/^250 /);
  plain.write('STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n');
  t.regex(await lines.line(), /^220 /);
  plain.removeAllListeners('data');
  const secure = await startTls(plain);
  const sl = new Lines(secure);
  secure.write('EHLO probe\r\n');
  const first = await sl.line();
  t.regex(first, /^250-/, 'the first reply over TLS answers our EHLO, not the injected MAIL');
  await sl.until(/^250 /);
  secure.write('RCPT TO:<alice@lab.test>\r\n');
  t.regex(await sl.line(), /^503 /, 'no transaction was started by the injected MAIL');
  secure.destroy();
});

test('POP3 STLS and IMAP STARTTLS injection: pipelined commands are discarded', async (t) => {
  {
    const plain = await connectPlain(lab.port('pop3', 'pop3'));
    const lines = new Lines(plain);
    t.regex(await lines.line(), /^\+OK /);
    plain.write('STLS\r\nUSER alice\r\n');
    t.regex(await lines.line(), /^\+OK /);
    plain.removeAllListeners('data');
    const secure = await startTls(plain);
    const sl = new Lines(secure);
    secure.write('PASS alice-lab\r\n');
    t.regex(await sl.line(), /^-ERR /, 'USER sent before TLS was not remembered');
    secure.write('CAPA\r\n');
    const capa = await sl.until(/^\.$/);
    t.false(capa.includes('STLS'));
    secure.destroy();
  }
  {
    const plain = await connectPlain(lab.port('imap', 'imap'));
    const lines = new Lines(plain);
    t.regex(await lines.line(), /^\* OK .*STARTTLS/);
    plain.write('a STARTTLS\r\nb LOGIN alice alice-lab\r\n');
    t.regex(await lines.line(), /^a OK /);
    plain.removeAllListeners('data');
    const secure = await startTls(plain);
    const sl = new Lines(secure);
    secure.write('c CAPABILITY\r\n');
    const caps = await sl.until(/^c /);
    t.regex(caps[0], /^\* CAPABILITY /, 'the first response over TLS is for our command');
    t.notRegex(caps.join('\n'), /STARTTLS/);
    t.false(
      caps.some((l) => l.startsWith('b ')),
      'the injected LOGIN got no answer',
    );
    secure.write('d NAMESPACE\r\n');
    t.regex((await sl.until(/^d /)).at(-1)!, /^d BAD /, 'still not logged in');
    secure.destroy();
  }
});

/** Resolves when the server has closed the socket (or after timeoutMs with false). */
function closedByServer(socket: net.Socket, timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('plain text where the TLS handshake belongs closes that session only, and is not logged as an internal error', async (t) => {
  for (const [proto, port, greeting, startCmd, okLine, after] of [
    ['smtp', lab.port('smtp', 'submission'), /^220 /, 'EHLO probe\r\nSTARTTLS\r\n', /^220 /, 'EHLO again\r\n'],
    ['pop3', lab.port('pop3', 'pop3'), /^\+OK /, 'STLS\r\n', /^\+OK /, 'USER alice\r\n'],
    ['imap', lab.port('imap', 'imap'), /^\* OK /, 'a STARTTLS\r\n', /^a OK /, 'b LOGIN alice alice-lab\r\n'],
  ] as const) {
    const plain = await connectPlain(port);
    const lines = new Lines(plain);
    t.regex(await lines.line(), greeting, `${proto} greeting`);
    plain.write(startCmd);
    await lines.until(okLine);
    // Give the server time to start its handshake, so this arrives as the first "TLS record".
    await new Promise((r) => setTimeout(r, 100));
    const closed = closedByServer(plain);
    plain.write(after);
    t.true(await closed, `${proto}: the server closes the connection`);
  }
  // The services go on: a full STARTTLS session still works on each.
  const r = await runTool(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${lab.port('smtp', 'submission')}`, '-starttls', 'smtp', '-CAfile', caFile, '-verify_return_error', '-ign_eof'],
    { input: 'EHLO probe\r\nQUIT\r\n', keepStdinOpenMs: 2000 },
  );
  t.regex(r.stdout, /Verify return code: 0 \(ok\)/);
  const logs = lab.stdout() + lab.stderr();
  t.notRegex(logs, /session handler failed|internal error/, 'a client that fails the handshake is not a server fault');
});

test('nodemailer over STARTTLS (587) and SMTPS (465) with the lab CA; imapflow reads both over IMAPS', async (t) => {
  const auth = { user: 'alice', pass: 'alice-lab' };
  const subjects = [`starttls ${Date.now()}`, `smtps ${Date.now()}`];
  const viaStarttls = nodemailer.createTransport({
    host: '127.0.0.1',
    port: lab.port('smtp', 'submission'),
    secure: false,
    requireTLS: true,
    auth,
    tls: { ca, servername: 'localhost' },
  });
  const viaSmtps = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp', 'smtps'), secure: true, auth, tls: { ca, servername: 'localhost' } });
  for (const [transport, subject] of [
    [viaStarttls, subjects[0]],
    [viaSmtps, subjects[1]],
  ] as const) {
    const info = await transport.sendMail({ from: 'alice@lab.test', to: 'bob@lab.test', subject, text: `sent over ${subject}\n` });
    t.deepEqual(info.accepted, ['bob@lab.test']);
    transport.close();
  }
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: lab.port('imap', 'imaps'),
    secure: true,
    auth: { user: 'bob', pass: 'bob-lab' },
    tls: { ca, servername: 'localhost' },
    logger: false,
  });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const found: string[] = [];
      for await (const m of client.fetch('1:*', { envelope: true })) found.push(m.envelope?.subject ?? '');
      for (const s of subjects) t.true(found.includes(s), s);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});
