// Issue 14: the upload area was shared and unauthenticated: any student could overwrite or delete
// anyone's files. Now reading stays open, PUT and DELETE need HTTP Basic with a lab login (checked off
// the event loop, through the shared login throttle), a file belongs to whoever uploaded it, an
// instructor may change any file, and each student's files and octets are capped. Against the real
// process with curl; ownership survives a restart.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { curl } from '../http/raw-client.js';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';

const config = {
  users: ['alice', 'bob', 'carol'].map((name) => ({ name, password: `${name}-lab` })),
  instructors: ['carol'],
  services: { http: { uploadMaxFilesPerUser: 2, uploadMaxBytesPerUser: 3000, uploadMaxFileBytes: 100_000 } },
};

/** curl -s -o body -w status: the status and the body text. */
async function req(lab: LabProcess, args: string[], input?: Buffer): Promise<{ status: number; body: string; wwwAuth: boolean }> {
  const r = await curl(['-i', ...args], input);
  const raw = r.stdout.toString('latin1');
  let text = raw;
  while (text.startsWith('HTTP/1.1 100')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end);
  return { status: Number(head.split(' ')[1]), body: text.slice(end + 4), wwwAuth: /\r\nWWW-Authenticate: Basic realm=/i.test(head) };
}

const url = (lab: LabProcess, name: string): string => `http://127.0.0.1:${lab.port('http')}/upload/${name}`;
const as = (user: string): string[] => ['-u', `${user}:${user}-lab`];
const put = (lab: LabProcess, user: string | undefined, name: string, body: string | Buffer): Promise<{ status: number; body: string; wwwAuth: boolean }> =>
  req(lab, [...(user ? as(user) : []), '-T', '-', url(lab, name)], Buffer.from(body));
const del = (lab: LabProcess, user: string | undefined, name: string): Promise<{ status: number; body: string; wwwAuth: boolean }> =>
  req(lab, [...(user ? as(user) : []), '-X', 'DELETE', url(lab, name)]);

test('uploads: the owner writes and deletes, another student gets 403, anonymous 401, reading is open, per-user caps 507', async (t) => {
  let lab = await startLabProcess({ only: ['http'], config });
  try {
    // Anonymous writes: 401 with a Basic challenge and what to do; nothing stored.
    const anon = await put(lab, undefined, 'notes.txt', 'anon');
    t.is(anon.status, 401);
    t.true(anon.wwwAuth);
    t.regex(anon.body, /lab login .*curl -u NAME/);
    t.is((await req(lab, [url(lab, 'notes.txt')])).status, 404);
    // A wrong password: 401 as well.
    const wrong = await req(lab, ['-u', 'alice:nope', '-T', '-', url(lab, 'notes.txt')], Buffer.from('x'));
    t.is(wrong.status, 401);
    t.regex(wrong.body, /wrong login or password/);

    // The owner: 201, 204 on replace; anyone reads it.
    t.is((await put(lab, 'alice', 'notes.txt', 'alice v1')).status, 201);
    t.is((await put(lab, 'alice', 'notes.txt', 'alice v2')).status, 204);
    const read = await req(lab, [url(lab, 'notes.txt')]);
    t.is(read.status, 200);
    t.is(read.body, 'alice v2');

    // Another student may neither replace nor delete it; anonymous DELETE is 401.
    const steal = await put(lab, 'bob', 'notes.txt', 'bob was here');
    t.is(steal.status, 403);
    t.regex(steal.body, /notes\.txt belongs to alice; only alice \(or an instructor\) may replace or delete it/);
    t.is((await del(lab, 'bob', 'notes.txt')).status, 403);
    t.is((await del(lab, undefined, 'notes.txt')).status, 401);
    t.is((await req(lab, [url(lab, 'notes.txt')])).body, 'alice v2', 'unchanged');

    // Per-user caps: 2 files, 3000 octets. A third file is 507; so is a replacement over the bytes.
    t.is((await put(lab, 'alice', 'two.bin', Buffer.alloc(2000, 1))).status, 201);
    const third = await put(lab, 'alice', 'three.txt', 'x');
    t.is(third.status, 507);
    t.regex(third.body, /alice already has 2 uploads, the most one user may keep \(2\); DELETE one first/);
    const bytes = await put(lab, 'alice', 'notes.txt', Buffer.alloc(1500, 2));
    t.is(bytes.status, 507);
    t.regex(bytes.body, /alice's uploads would total 3500 octets, over the 3000 one user may keep/);
    // Chunked (no length known in advance): refused at commit, nothing stored.
    const chunked = await req(lab, [...as('alice'), '-H', 'Transfer-Encoding: chunked', '-T', '-', url(lab, 'notes.txt')], Buffer.alloc(1500, 3));
    t.is(chunked.status, 507);
    t.is((await req(lab, [url(lab, 'notes.txt')])).body, 'alice v2');
    // Bob's caps are his own.
    t.is((await put(lab, 'bob', 'bob.txt', Buffer.alloc(2900, 4))).status, 201);

    // Ownership survives a restart.
    await lab.stop();
    lab = await startLabProcess({ only: ['http'], config, dataDir: lab.dataDir });
    t.is((await del(lab, 'bob', 'notes.txt')).status, 403);
    t.deepEqual(JSON.parse(readFileSync(join(lab.dataDir, 'uploads', '.owners.json'), 'utf8')), { 'notes.txt': 'alice', 'two.bin': 'alice', 'bob.txt': 'bob' });

    // The owner deletes; an instructor may delete anyone's file.
    t.is((await del(lab, 'alice', 'notes.txt')).status, 204);
    t.is((await req(lab, [url(lab, 'notes.txt')])).status, 404);
    t.is((await del(lab, 'carol', 'bob.txt')).status, 204);
    t.is((await put(lab, 'alice', 'three.txt', 'x')).status, 201, 'a deleted file frees its slot');
    const listing = await req(lab, [`http://127.0.0.1:${lab.port('http')}/upload/`]);
    t.regex(listing.body, /three\.txt<\/a> \(1 octets, by alice\)/);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

test('uploads: password guessing over Basic goes through the login throttle (429 once an address keeps failing)', async (t) => {
  const lab = await startLabProcess({
    only: ['http'],
    config: { ...config, limits: { loginThrottle: { freeFailures: 1, baseDelayMs: 2000, maxDelayMs: 2000, refuseAfterMs: 1000 } } },
  });
  try {
    // Parallel guesses from one address: the failure slots pile up past refuseAfterMs, then 429
    // (refused without checking the password).
    const guesses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => req(lab, ['-u', `alice:guess${i}`, '-T', '-', url(lab, `g${i}.txt`)], Buffer.from('x'))),
    );
    const statuses = guesses.map((g) => g.status);
    t.log(statuses.join(' '));
    t.true(statuses.every((s) => s === 401 || s === 429));
    t.true(statuses.includes(429));
    t.regex(guesses.find((g) => g.status === 429)?.body ?? '', /too many failed logins/);
    // The real alice, from another address, is not locked out.
    const real = await req(lab, ['--interface', '127.0.0.2', '-u', 'alice:alice-lab', '-T', '-', url(lab, 'real.txt')], Buffer.from('x'));
    t.is(real.status, 201);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
