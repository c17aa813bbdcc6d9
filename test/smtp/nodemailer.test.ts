// nodemailer against the real labnet process: what nodemailer composed is on disk byte for byte
// (after the Return-Path and Received fields labnet adds).
import test from 'ava';
import { randomBytes } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { LabProcess } from '../support/lab-process.js';
import { findMessage, maildirMessages, startSmtpLab, stripTrace, traceOf } from './helpers.js';

let lab: LabProcess;

test.before(async () => {
  lab = await startSmtpLab();
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

function compose(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

function unique(): string {
  return randomBytes(8).toString('hex');
}

/** Composes once, sends those exact bytes, returns them. */
async function sendRaw(transport: Transporter, options: Mail.Options, envelope: { from: string; to: string[] }): Promise<Buffer> {
  const raw = await compose(options);
  const info = await transport.sendMail({ envelope, raw });
  if (info.accepted?.length !== envelope.to.length) throw new Error(`not all accepted: ${JSON.stringify(info)}`);
  return raw;
}

test('plain send on port 25 is stored byte for byte with Return-Path and Received in front', async (t) => {
  const tag = unique();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp', 'smtp'), secure: false, ignoreTLS: true });
  const raw = await sendRaw(
    transport,
    { from: 'Teacher <teacher@school.test>', to: 'alice@lab.test', subject: `plain ${tag}`, text: `hello ${tag}\r\n` },
    { from: 'teacher@school.test', to: ['alice@lab.test'] },
  );
  const stored = findMessage(lab.dataDir, 'alice', tag);
  t.truthy(stored);
  t.is(stripTrace(stored!).toString('utf8'), raw.toString('utf8'));
  t.true(stripTrace(stored!).equals(raw));
  const trace = traceOf(stored!);
  t.regex(
    trace,
    /^Return-Path: <teacher@school\.test>\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby labnet\.lab\.test \(labnet\) with ESMTP id [0-9A-F]+\r\n\tfor <alice@lab\.test>;\r\n\t\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n$/,
  );
  transport.close();
});

for (const method of ['PLAIN', 'LOGIN'] as const) {
  test(`AUTH ${method} on the submission port, then delivery (login with and without the domain)`, async (t) => {
    const tag = unique();
    const user = method === 'PLAIN' ? 'bob' : 'bob@lab.test';
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: lab.port('smtp', 'submission'),
      secure: false,
      ignoreTLS: true,
      auth: { user, pass: 'bob-lab' },
      authMethod: method,
    });
    await t.notThrowsAsync(transport.verify());
    const raw = await sendRaw(
      transport,
      { from: 'bob@lab.test', to: 'carol@lab.test', subject: `auth ${method} ${tag}`, text: 'hi' },
      { from: 'bob@lab.test', to: ['carol@lab.test'] },
    );
    const stored = findMessage(lab.dataDir, 'carol', tag);
    t.true(stripTrace(stored!).equals(raw));
    t.regex(traceOf(stored!), / with ESMTPA id /);
    transport.close();
  });
}

test('a wrong password gets 535 5.7.8 on the submission port', async (t) => {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: lab.port('smtp', 'submission'),
    secure: false,
    ignoreTLS: true,
    auth: { user: 'bob', pass: 'wrong' },
  });
  const err = await t.throwsAsync(transport.verify());
  t.regex(String((err as { response?: string }).response), /^535 5\.7\.8 /);
  transport.close();
});

test('pooled connections deliver every message once', async (t) => {
  const tag = unique();
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 3,
    maxMessages: 5,
    host: '127.0.0.1',
    port: lab.port('smtp', 'smtp'),
    secure: false,
    ignoreTLS: true,
  });
  const raws = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      sendRaw(
        transport,
        { from: 'p@pool.test', to: 'carol@lab.test', subject: `pool ${tag} #${i}`, text: `n=${i}` },
        { from: 'p@pool.test', to: ['carol@lab.test'] },
      ),
    ),
  );
  const stored = maildirMessages(lab.dataDir, 'carol')
    .filter((m) => m.includes(`pool ${tag}`))
    .map(stripTrace);
  t.is(stored.length, 20);
  for (const raw of raws) t.is(stored.filter((s) => s.equals(raw)).length, 1);
  transport.close();
});

test('several recipients (To, Cc, Bcc, mixed case local parts) each get the same bytes', async (t) => {
  const tag = unique();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false, ignoreTLS: true });
  const raw = await sendRaw(
    transport,
    { from: 'x@outside.test', to: ['alice@lab.test', 'BOB@Lab.Test'], cc: 'carol@labnet.lab.test', subject: `multi ${tag}`, text: 'to many' },
    { from: 'x@outside.test', to: ['alice@lab.test', 'BOB@Lab.Test', 'carol@labnet.lab.test'] },
  );
  for (const user of ['alice', 'bob', 'carol']) {
    const stored = findMessage(lab.dataDir, user, tag);
    t.truthy(stored, user);
    t.true(stripTrace(stored!).equals(raw), user);
    t.false(traceOf(stored!).includes('\tfor <'), 'no "for" clause with several recipients');
  }
  transport.close();
});

test('a 5 MB attachment arrives intact', async (t) => {
  const tag = unique();
  const attachment = randomBytes(5 * 1024 * 1024);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false, ignoreTLS: true });
  const raw = await sendRaw(
    transport,
    {
      from: 'big@outside.test',
      to: 'alice@lab.test',
      subject: `big ${tag}`,
      text: 'see attachment',
      attachments: [{ filename: 'random.bin', content: attachment }],
    },
    { from: 'big@outside.test', to: ['alice@lab.test'] },
  );
  const stored = findMessage(lab.dataDir, 'alice', tag);
  t.truthy(stored);
  t.is(stripTrace(stored!).length, raw.length);
  t.true(stripTrace(stored!).equals(raw));
  transport.close();
});

test('UTF-8 headers and an SMTPUTF8 sender address', async (t) => {
  const tag = unique();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false, ignoreTLS: true });
  const raw = await sendRaw(
    transport,
    { from: 'Jürgen Müller <jürgen@bücher.test>', to: 'Zoë <alice@lab.test>', subject: `Grüße aus Köln ✉ ${tag}`, text: 'Schöne Grüße — 你好\r\n' },
    { from: 'jürgen@bücher.test', to: ['alice@lab.test'] },
  );
  const stored = findMessage(lab.dataDir, 'alice', tag);
  t.truthy(stored);
  t.is(stripTrace(stored!).toString('utf8'), raw.toString('utf8'));
  t.true(stripTrace(stored!).equals(raw));
  const trace = traceOf(stored!);
  t.true(trace.startsWith('Return-Path: <jürgen@bücher.test>\r\n'));
  t.regex(trace, / with UTF8SMTP id /);
  transport.close();
});

test('an SMTPUTF8 recipient on a mailbox created on first delivery (auto-create switch)', async (t) => {
  const auto = await startSmtpLab({ autoCreateMailboxes: true });
  try {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: auto.port('smtp'), secure: false, ignoreTLS: true });
    const tag = unique();
    const raw = await sendRaw(
      transport,
      { from: 'a@b.test', to: 'Δοκιμή@lab.test', subject: `idn ${tag}`, text: 'x' },
      { from: 'a@b.test', to: ['Δοκιμή@lab.test'] },
    );
    const stored = findMessage(auto.dataDir, 'δοκιμή', tag);
    t.truthy(stored);
    t.true(stripTrace(stored!).equals(raw));
    transport.close();
  } finally {
    await auto.stop();
    auto.cleanup();
  }
});

test('body lines starting with a dot are dot-stuffed by nodemailer and unstuffed by labnet', async (t) => {
  const tag = unique();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false, ignoreTLS: true });
  const text = `first ${tag}\r\n.\r\n..two dots\r\n.hidden\r\n . not at start\r\n.`;
  const raw = await sendRaw(
    transport,
    { from: 'dots@outside.test', to: 'bob@lab.test', subject: `dots ${tag}`, text },
    { from: 'dots@outside.test', to: ['bob@lab.test'] },
  );
  t.true(raw.includes('\r\n.\r\n..two dots\r\n.hidden\r\n'));
  const stored = findMessage(lab.dataDir, 'bob', tag);
  t.true(stripTrace(stored!).equals(raw));
  transport.close();
});

test('tls.offerStartTls false: nodemailer with its defaults sends over plain text; while STARTTLS is offered its defaults fail on the lab certificate', async (t) => {
  const tag = unique();
  // The default lab offers STARTTLS: nodemailer upgrades whenever it is offered and does not trust the lab CA.
  const offered = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false });
  await t.throwsAsync(offered.sendMail({ from: 'a@outside.test', to: 'alice@lab.test', subject: `refused ${tag}`, text: 'x' }), {
    message: /unable to verify the first certificate|self[- ]signed/,
  });
  offered.close();
  const plain = await startSmtpLab({}, { tls: { offerStartTls: false } });
  try {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: plain.port('smtp'), secure: false });
    const info = await transport.sendMail({ from: 'a@outside.test', to: 'alice@lab.test', subject: `plain ${tag}`, text: 'x' });
    t.deepEqual(info.accepted, ['alice@lab.test']);
    transport.close();
    const submission = nodemailer.createTransport({
      host: '127.0.0.1',
      port: plain.port('smtp', 'submission'),
      secure: false,
      auth: { user: 'bob', pass: 'bob-lab' },
    });
    t.deepEqual((await submission.sendMail({ from: 'bob@lab.test', to: 'alice@lab.test', subject: `auth ${tag}`, text: 'y' })).accepted, ['alice@lab.test']);
    submission.close();
    t.truthy(findMessage(plain.dataDir, 'alice', `plain ${tag}`));
    t.truthy(findMessage(plain.dataDir, 'alice', `auth ${tag}`));
    const trace = traceOf(findMessage(plain.dataDir, 'alice', `auth ${tag}`)!);
    t.regex(trace, / with ESMTPA id /, 'authenticated over plain text: no S in the protocol keyword');
  } finally {
    await plain.stop();
    plain.cleanup();
  }
});
