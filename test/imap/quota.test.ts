// QUOTA (RFC 9208) from the mail store's per-user limits: GETQUOTAROOT and GETQUOTA with Python's
// imaplib and as raw transcripts, and APPEND/COPY past the limit answered NO [OVERQUOTA] with nothing stored.
import test from 'ava';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { run } from './helpers.js';
import { RawImap } from './raw-client.js';

let lab: LabProcess;
let unlimited: LabProcess;

test.before(async () => {
  [lab, unlimited] = await Promise.all([
    startLabProcess({ only: ['imap'], config: { services: { imap: { port: 0 } }, mailStore: { quota: { maxBytes: 4096, maxMessages: 4 } } } }),
    startLabProcess({ only: ['imap'], config: { services: { imap: { port: 0 } }, mailStore: { quota: { maxBytes: 0, maxMessages: 0 } } } }),
  ]);
});

test.after.always(async () => {
  for (const l of [lab, unlimited]) {
    await l?.stop();
    l?.cleanup();
  }
});

async function login(l: LabProcess): Promise<RawImap> {
  const c = await RawImap.open(l.port('imap'));
  const r = await c.cmd('L', 'LOGIN alice alice-lab');
  if (!/^L OK/m.test(r)) throw new Error(r);
  return c;
}

function appendCmd(tag: string, box: string, octets: number): string {
  const head = 'Subject: q\r\n\r\n';
  const msg = head + 'z'.repeat(octets - head.length);
  return `${tag} APPEND ${box} {${msg.length}+}\r\n${msg}\r\n`;
}

test.serial('GETQUOTAROOT and GETQUOTA: one root "" with STORAGE in KiB and MESSAGE; APPEND and COPY past it get NO [OVERQUOTA]', async (t) => {
  const c = await login(lab);
  t.regex(await c.cmd('c', 'CAPABILITY'), /^\* CAPABILITY .* QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE/m);
  c.write(appendCmd('a1', 'INBOX', 1500));
  t.regex(await c.until(/^a1 .*\r\n/m), /^a1 OK/m);
  t.regex(await c.cmd('q', 'GETQUOTAROOT INBOX'), /^\* QUOTAROOT INBOX ""\r\n\* QUOTA "" \(STORAGE 2 4 MESSAGE 1 4\)\r\nq OK/m);
  t.regex(await c.cmd('q2', 'GETQUOTA ""'), /^\* QUOTA "" \(STORAGE 2 4 MESSAGE 1 4\)\r\nq2 OK/m);
  t.regex(await c.cmd('q3', 'GETQUOTA "user.bob"'), /^q3 NO \[NONEXISTENT\]/m);
  t.regex(await c.cmd('q4', 'GETQUOTAROOT nosuch'), /^q4 NO \[NONEXISTENT\]/m);
  t.regex(await c.cmd('q5', 'SETQUOTA "" (STORAGE 100000)'), /^q5 BAD/m, 'no QUOTASET: the limits are the instructor’s');
  c.write(appendCmd('a2', 'INBOX', 3000));
  t.regex(await c.until(/^a2 .*\r\n/m), /^a2 NO \[OVERQUOTA\]/m);
  await c.cmd('s', 'SELECT INBOX');
  c.write(appendCmd('a3', 'INBOX', 1500));
  await c.until(/^a3 .*\r\n/m);
  t.regex(await c.cmd('cp', 'COPY 1:2 Archive'), /^cp NO \[OVERQUOTA\]/m, 'a COPY that does not fit is refused whole');
  t.regex(
    await c.cmd('q6', 'GETQUOTAROOT Archive'),
    /^\* QUOTAROOT Archive ""\r\n\* QUOTA "" \(STORAGE 3 4 MESSAGE 2 4\)/m,
    'nothing of the refused APPEND or COPY counts',
  );
  c.close();
});

test.serial('without limits a mailbox has no quota root (a quota list is never empty)', async (t) => {
  const c = await login(unlimited);
  t.regex(await c.cmd('q', 'GETQUOTAROOT INBOX'), /^\* QUOTAROOT INBOX\r\nq OK/m);
  t.regex(await c.cmd('q2', 'GETQUOTA ""'), /^q2 NO \[NONEXISTENT\]/m);
  c.close();
});

test.serial("Python imaplib's getquotaroot and getquota read the quota", async (t) => {
  const py = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'alice-lab')
typ, data = M.getquotaroot('INBOX')
assert typ == 'OK', (typ, data)
print('root', data)
typ, data = M.getquota('""')
assert typ == 'OK', (typ, data)
print('quota', data)
M.logout()
`;
  const r = await run('python3', ['-c', py, String(lab.port('imap'))], { timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /root \[\[b'INBOX ""'\], \[b'"" \(STORAGE \d+ 4 MESSAGE \d+ 4\)'\]\]/);
  t.regex(r.stdout, /quota \[b'"" \(STORAGE \d+ 4 MESSAGE \d+ 4\)'\]/);
});
