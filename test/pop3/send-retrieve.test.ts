// Send with nodemailer over SMTP, retrieve over POP3 with Python's poplib and curl, all against the
// real labnet process: what nodemailer composed comes back byte for byte (after the Return-Path and
// Received fields SMTP puts in front), and LIST sizes are the octets RETR sends.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { maildirMessages, stripTrace } from '../smtp/helpers.js';

let lab: LabProcess;

test.before(async () => {
  lab = await startLabProcess({
    only: ['smtp', 'pop3'],
    config: { services: { smtp: { port: 0, submissionPort: 0, smtpsPort: 0 }, pop3: { port: 0, pop3sPort: 0 } } },
  });
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

function output(cmd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${err}`));
    });
    if (p.stdin) {
      p.stdin.on('error', () => {});
      p.stdin.end(input);
    }
  });
}

const POPLIB_ALL = String.raw`
import base64, json, poplib, sys
args = json.load(sys.stdin)
p = poplib.POP3('127.0.0.1', args['port'], timeout=30)
p.user(args['user']); p.pass_(args['password'])
resp, lines, _ = p.list()
out = {'list': [l.decode() for l in lines], 'uidl': [l.decode() for l in p.uidl()[1]], 'retr': []}
for i in range(1, len(lines) + 1):
    resp, body, octets = p.retr(i)
    out['retr'].append(base64.b64encode(b'\r\n'.join(body) + b'\r\n').decode())
p.quit()
json.dump(out, sys.stdout)
`;

test('nodemailer -> SMTP -> POP3 (poplib, curl): byte for byte', async (t) => {
  const tag = randomBytes(6).toString('hex');
  const mails: Mail.Options[] = [
    { from: 'bob@lab.test', to: 'carol@lab.test', subject: `plain ${tag}`, text: `Hello Carol,\r\n.a line with a leading dot\r\n.\r\nbye\r\n` },
    { from: 'Bob <bob@lab.test>', to: 'carol@lab.test', subject: `Grüße ✉ ${tag}`, text: 'Grüße aus dem Labor', html: '<p>Grüße <b>aus</b> dem Labor</p>' },
    {
      from: 'bob@lab.test',
      to: 'carol@lab.test',
      subject: `attachment ${tag}`,
      text: 'see attached',
      attachments: [
        { filename: 'small.bin', content: randomBytes(3000) },
        { filename: 'big.bin', content: randomBytes(400_000) },
      ],
    },
  ];
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp', 'smtp'), secure: false, ignoreTLS: true });
  const raws: Buffer[] = [];
  for (const m of mails) {
    const raw = await new MailComposer(m).compile().build();
    const info = await transport.sendMail({ envelope: { from: 'bob@lab.test', to: ['carol@lab.test'] }, raw });
    t.deepEqual(info.accepted, ['carol@lab.test']);
    raws.push(raw);
  }
  transport.close();
  const stored = maildirMessages(lab.dataDir, 'carol');
  t.is(stored.length, 3);

  const pop = JSON.parse(
    (await output('python3', ['-c', POPLIB_ALL], JSON.stringify({ port: lab.port('pop3'), user: 'carol', password: 'carol-lab' }))).toString(),
  ) as {
    list: string[];
    uidl: string[];
    retr: string[];
  };
  t.is(pop.retr.length, 3);
  const retrieved = pop.retr.map((b) => Buffer.from(b, 'base64'));
  retrieved.forEach((r, i) => {
    t.true(stripTrace(r).equals(raws[i]), `message ${i + 1}: what nodemailer sent differs from what poplib got`);
    t.is(pop.list[i], `${i + 1} ${r.length}`);
    t.true(
      stored.some((s) => s.equals(r)),
      `message ${i + 1} is exactly the stored file`,
    );
  });

  for (let i = 0; i < 3; i++) {
    const viaCurl = await output('curl', ['-sS', '--max-time', '30', '-u', 'carol:carol-lab', `pop3://127.0.0.1:${lab.port('pop3')}/${i + 1}`]);
    t.true(viaCurl.equals(retrieved[i]), `curl RETR ${i + 1}`);
  }
  // UIDL is stable across sessions.
  const again = JSON.parse(
    (await output('python3', ['-c', POPLIB_ALL], JSON.stringify({ port: lab.port('pop3'), user: 'carol', password: 'carol-lab' }))).toString(),
  ) as { uidl: string[] };
  t.deepEqual(again.uidl, pop.uidl);
});
