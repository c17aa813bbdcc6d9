// Debian clients against the real labnet process, on mail sent with nodemailer: curl imap:// (LIST,
// EXAMINE, FETCH, SEARCH), fetchmail over IMAP, mbsync (two-way sync of every folder into a local
// Maildir, a flag change on each side, a second sync that agrees) and mutt (batch send with the copy
// APPENDed to Sent, and a scripted session that copies tagged messages between folders).
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { LabProcess } from '../support/lab-process.js';
import { run, sendMail, startMailLab } from './helpers.js';

let lab: LabProcess;
let work: string;

test.before(async () => {
  lab = await startMailLab();
  work = mkdtempSync(join(tmpdir(), 'labnet-imap-clients-'));
  const msgs = (user: string) => [
    { to: `${user}@lab.test`, subject: `hello ${user} one`, text: 'first message body' },
    { to: `${user}@lab.test`, subject: `hello ${user} two`, text: 'second message body', attachments: [{ filename: 'a.txt', content: 'attached' }] },
  ];
  await sendMail(lab, [...msgs('alice'), ...msgs('bob'), ...msgs('carol')]);
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function imap<T>(user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({ host: '127.0.0.1', port: lab.port('imap'), secure: false, doSTARTTLS: false, auth: { user, pass: `${user}-lab` }, logger: false });
  c.on('error', () => undefined); // a failure shows up in the awaited calls below
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

test('curl imap://: LIST, EXAMINE, FETCH by UID and section, SEARCH', async (t) => {
  const base = `imap://127.0.0.1:${lab.port('imap')}`;
  const auth = ['-s', '-S', '-u', 'carol:carol-lab', '--max-time', '30'];
  const list = await run('curl', [...auth, `${base}/`]);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^\* LIST \(\\HasNoChildren\) "\." INBOX\r?$/m);
  t.regex(list.stdout, /^\* LIST \(\\HasNoChildren \\Sent\) "\." Sent\r?$/m);
  const examine = await run('curl', [...auth, `${base}/INBOX`, '-X', 'EXAMINE INBOX']);
  t.is(examine.code, 0, examine.stderr);
  t.regex(examine.stdout, /^\* 2 EXISTS\r?$/m);
  t.regex(examine.stdout, /^\* OK \[PERMANENTFLAGS \(\)\]/m);
  const fetched = await run('curl', [...auth, `${base}/INBOX;UID=1`]);
  t.is(fetched.code, 0, fetched.stderr);
  t.regex(fetched.stdout, /^Subject: hello carol one\r?$/m);
  t.true(fetched.stdout.includes('first message body'));
  const header = await run('curl', [...auth, `${base}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)`]);
  t.is(header.stdout, 'Subject: hello carol two\r\n\r\n');
  const search = await run('curl', [...auth, `${base}/INBOX?SUBJECT%20two`]);
  t.is(search.stdout.trim(), '* SEARCH 2');
});

test('fetchmail over IMAP retrieves every message', async (t) => {
  const dir = mkdtempSync(join(work, 'fetchmail-'));
  const mbox = join(dir, 'out.mbox');
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(
    rc,
    `set no bouncemail\npoll 127.0.0.1 service ${lab.port('imap')} protocol IMAP auth password\n  user "bob" password "bob-lab" is "bob" here\n  keep\n  sslproto ''\n  mda "/bin/sh -c 'cat >> ${mbox}'"\n`,
  );
  chmodSync(rc, 0o600);
  const r = await run('fetchmail', ['-f', rc, '--nodetach', '--idfile', join(dir, 'ids'), '-v'], { env: { HOME: dir }, timeoutMs: 60_000 });
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const text = readFileSync(mbox, 'utf8');
  t.true(text.includes('Subject: hello bob one'));
  t.true(text.includes('Subject: hello bob two'));
  t.true(text.includes('filename=a.txt'));
  // fetchmail marks what it fetched as \Seen (keep leaves the messages on the server). Only the
  // messages it fetched count: the mutt test may be mailing bob at the same moment.
  const unseen = await imap('bob', async (c) => {
    await c.mailboxOpen('INBOX');
    return c.search({ seen: false, subject: 'hello bob' });
  });
  t.deepEqual(unseen, []);
});

function mbsyncRc(dir: string): string {
  const rc = join(dir, 'mbsyncrc');
  writeFileSync(
    rc,
    [
      'IMAPAccount lab',
      'Host 127.0.0.1',
      `Port ${lab.port('imap')}`,
      'User alice',
      'Pass alice-lab',
      'SSLType None',
      'AuthMechs PLAIN',
      '',
      'IMAPStore lab-remote',
      'Account lab',
      '',
      'MaildirStore lab-local',
      `Path ${dir}/mail/`,
      `Inbox ${dir}/mail/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel lab',
      'Far :lab-remote:',
      'Near :lab-local:',
      'Patterns *',
      'Create Both',
      'Expunge Both',
      'SyncState *',
      '',
    ].join('\n'),
  );
  return rc;
}

test('mbsync: two-way sync of all folders, a flag change on each side, a second sync that agrees', async (t) => {
  const dir = mkdtempSync(join(work, 'mbsync-'));
  mkdirSync(join(dir, 'mail'));
  const rc = mbsyncRc(dir);
  const first = await run('mbsync', ['-c', rc, '-a'], { timeoutMs: 60_000 });
  t.is(first.code, 0, `${first.stdout}\n${first.stderr}`);
  for (const f of ['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']) t.true(existsSync(join(dir, 'mail', f, 'cur')), `local ${f}`);
  const inboxFiles = () => readdirSync(join(dir, 'mail', 'INBOX', 'cur')).concat(readdirSync(join(dir, 'mail', 'INBOX', 'new')).map((f) => `new/${f}`));
  const local = inboxFiles();
  t.is(local.length, 2);
  // Local side: flag UID 1. Remote side: answer UID 2. A new local draft must be uploaded.
  const one = local.find((f) => f.includes(',U=1'))!;
  const curOne = one.startsWith('new/') ? one.slice(4) : one;
  renameSync(
    join(dir, 'mail', 'INBOX', one.startsWith('new/') ? 'new' : 'cur', curOne),
    join(dir, 'mail', 'INBOX', 'cur', `${curOne.replace(/:2,.*$/, '')}:2,F`),
  );
  writeFileSync(join(dir, 'mail', 'Drafts', 'new', '1700000000.1_1.localhost'), 'From: alice@lab.test\r\nSubject: local draft\r\n\r\ndraft body\r\n');
  await imap('alice', async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Answered'], { uid: true });
  });
  const second = await run('mbsync', ['-c', rc, '-a'], { timeoutMs: 60_000 });
  t.is(second.code, 0, `${second.stdout}\n${second.stderr}`);
  const remote = await imap('alice', async (c) => {
    await c.mailboxOpen('INBOX');
    const flags: Record<number, string[]> = {};
    for await (const m of c.fetch('1:*', { uid: true, flags: true }, { uid: true })) flags[m.uid] = [...m.flags!].filter((f) => f !== '\\Recent').sort();
    const drafts = await c.status('Drafts', { messages: true });
    return { flags, drafts: drafts && drafts.messages };
  });
  t.deepEqual(remote.flags[1], ['\\Flagged'], 'the local flag reached the server');
  t.true(remote.flags[2].includes('\\Answered'), 'the server flag is on the server');
  t.is(remote.drafts, 1, 'the local draft was uploaded (APPEND)');
  const after = inboxFiles();
  t.true(
    after.some((f) => /,U=2:2,[A-Z]*R/.test(f)),
    `the server flag reached the local Maildir: ${after.join(' ')}`,
  );
  t.true(after.some((f) => /,U=1:2,F/.test(f)));
  // A third run finds nothing to do and changes nothing.
  const third = await run('mbsync', ['-c', rc, '-a', '-V'], { timeoutMs: 60_000 });
  t.is(third.code, 0);
  t.deepEqual(inboxFiles().sort(), after.sort());
  t.notRegex(third.stdout, /(Uploading|Propagating|Creating)/);
});

test('mutt: batch send saves a copy in Sent by APPEND; a scripted session copies tagged mail', async (t) => {
  const dir = mkdtempSync(join(work, 'mutt-'));
  const rc = join(dir, 'muttrc');
  writeFileSync(
    rc,
    [
      `set folder="imap://carol:carol-lab@127.0.0.1:${lab.port('imap')}/"`,
      'set spoolfile="+INBOX"',
      'set record="+Sent"',
      'set copy=yes',
      `set smtp_url="smtp://127.0.0.1:${lab.port('smtp')}/"`,
      'set from="carol@lab.test"',
      'set ssl_starttls=no',
      'set ssl_force_tls=no',
      'set confirmappend=no',
      'set header_cache=""',
      'set message_cachedir=""',
      '',
    ].join('\n'),
  );
  const sent = await run('mutt', ['-n', '-F', rc, '-s', 'from mutt', 'bob@lab.test'], { input: 'batch body\n', env: { HOME: dir }, timeoutMs: 30_000 });
  t.is(sent.code, 0, sent.stderr);
  // mutt's interactive UI needs a terminal: script(1) gives it one; the keys are pushed.
  const keys = '<tag-pattern>~s two<enter><tag-prefix><copy-message>=Archive<enter><exit>';
  const ui = await run('script', ['-qec', `mutt -n -F ${rc} -f +INBOX -e 'push "${keys}"'`, '/dev/null'], {
    env: { HOME: dir, TERM: 'vt100' },
    timeoutMs: 30_000,
  });
  t.is(ui.code, 0, ui.stdout);
  const state = await imap('carol', async (c) => {
    await c.mailboxOpen('Sent');
    const sentMsgs = [];
    for await (const m of c.fetch('1:*', { envelope: true })) sentMsgs.push(m.envelope!.subject);
    const archive = [];
    await c.mailboxOpen('Archive');
    for await (const m of c.fetch('1:*', { envelope: true })) archive.push(m.envelope!.subject);
    return { sentMsgs, archive };
  });
  t.deepEqual(state.sentMsgs, ['from mutt']);
  t.deepEqual(state.archive, ['hello carol two']);
});
