// The REST API from outside Node: a Python script using only urllib, smtplib and imaplib, and curl
// (which also sends the mail, over smtp://, and follows the delivery stream with -N).
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../core/paths.js';
import { startTestLab, type TestLab } from './fixture.js';

const TOKEN = 'outside-node-token-42';
let t0: TestLab;
let work: string;

test.before(async () => {
  t0 = await startTestLab({ api: { token: TOKEN } }, ['smtp', 'imap', 'http']);
  work = mkdtempSync(join(tmpdir(), 'labnet-curl-'));
});

test.after.always(async () => {
  await t0?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) p.stdin!.end(input);
  });
}

test('Python (urllib, smtplib, imaplib) sends, lists, reads, downloads, manages users and deletes', async (t) => {
  const tag = randomBytes(4).toString('hex');
  const r = await run(
    'python3',
    [projectPath('test', 'api', 'rest_client.py')],
    JSON.stringify({ http: t0.lab.ports.http, smtp: t0.lab.ports.smtp, imap: t0.lab.ports.imap, token: TOKEN, tag }),
  );
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown> | number | boolean>;
  t.deepEqual(out.list, { status: 200, total: 1, subjects: [`from python ${tag}`] });
  t.deepEqual(out.message, { status: 200, from: 'python@school.example', text: `hello from urllib ${tag}\n`, attachments: [['blob.bin', 9]] });
  t.deepEqual(out.attachment, { status: 200, b64: Buffer.from('\x00\x01binary\xff', 'latin1').toString('base64'), type: 'application/octet-stream' });
  t.deepEqual(out.raw, { status: 200, type: 'message/rfc822', hasSubject: true });
  t.deepEqual(out.addUser, { status: 201, body: { name: `py${tag}`, address: `py${tag}@lab.test` } });
  t.true(out.loginAfterAdd);
  t.is(out.removeUser, 204);
  t.false(out.loginAfterRemove);
  t.is(out.delete, 204);
  t.deepEqual(out.afterDelete, { status: 404, code: 'NO_SUCH_MESSAGE' });
  t.deepEqual(out.noToken, { status: 401, challenge: 'Bearer realm="labnet API"', code: 'UNAUTHORIZED' });
});

test('curl sends over smtp://, follows the delivery stream, lists, reads raw, adds a user and deletes', async (t) => {
  const tag = randomBytes(4).toString('hex');
  const http = `http://127.0.0.1:${t0.lab.ports.http}/api/v1`;
  const auth = ['-H', `Authorization: Bearer ${TOKEN}`];
  // The stream first: curl -N prints events as they come.
  const stream = spawn('curl', ['-sS', '-N', '--max-time', '30', ...auth, `${http}/deliveries?to=bob%40lab.test`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let streamed = '';
  const firstEvent = new Promise<void>((resolve) => {
    stream.stdout.on('data', (d: Buffer) => {
      streamed += d.toString();
      if (streamed.includes('event: message')) resolve();
    });
  });
  await new Promise<void>((resolve) => stream.stdout.once('data', () => resolve())); // the stream is open
  const mail = join(work, 'mail.txt');
  writeFileSync(mail, `From: curl@school.example\r\nTo: bob@lab.test\r\nSubject: curl ${tag}\r\n\r\nsent by curl ${tag}\r\n`);
  const sent = await run('curl', [
    '-sS',
    '--url',
    `smtp://127.0.0.1:${t0.lab.ports.smtp}`,
    '--mail-from',
    'curl@school.example',
    '--mail-rcpt',
    'bob@lab.test',
    '-T',
    mail,
  ]);
  t.is(sent.code, 0, sent.stderr);
  await firstEvent;
  stream.kill();
  const event = JSON.parse(/^data: (.*)$/m.exec(streamed)![1]) as { subject: string; links: { self: string; raw: string } };
  t.is(event.subject, `curl ${tag}`);

  const list = await run('curl', ['-sS', '-f', ...auth, `${http}/messages?user=bob&subject=${tag}`]);
  t.is(list.code, 0, list.stderr);
  t.is((JSON.parse(list.stdout) as { total: number }).total, 1);
  const rawFile = join(work, 'raw.eml');
  const raw = await run('curl', ['-sS', '-f', ...auth, '-o', rawFile, '-w', '%{content_type}', `http://127.0.0.1:${t0.lab.ports.http}${event.links.raw}`]);
  t.is(raw.stdout, 'message/rfc822');
  t.true(readFileSync(rawFile, 'latin1').endsWith(`sent by curl ${tag}\r\n`));

  const add = await run('curl', [
    '-sS',
    '-w',
    '\n%{http_code}',
    ...auth,
    '-H',
    'Content-Type: application/json',
    '-d',
    `{"name":"curl${tag}","password":"pw"}`,
    `${http}/users`,
  ]);
  t.regex(add.stdout, /"address":"curl[0-9a-f]+@lab\.test"[^]*\n201$/);
  const del = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-X',
    'DELETE',
    ...auth,
    `http://127.0.0.1:${t0.lab.ports.http}${event.links.self}`,
  ]);
  t.is(del.stdout, '204');
  const none = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${http}/messages`]);
  t.is(none.stdout, '401');
});
