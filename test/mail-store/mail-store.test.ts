import test from 'ava';
import { mkdtempSync, promises as fsp, readdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailStore, MailStoreError, type FolderChange } from '../../core/mail-store/index.js';

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labnet-store-'));
}

async function started(root: string): Promise<MailStore> {
  const s = new MailStore({ root });
  await s.start();
  return s;
}

const msg = (n: number, extra = ''): Buffer =>
  Buffer.from(
    `From: a@x.test\r\nTo: alice@lab.test\r\nSubject: message ${n}\r\n\tfolded\r\nMessage-ID: <${n}@x.test>\r\n${extra}\r\nbody ${n}\r\n.dot line\r\n`,
  );

test('delivery is on disk in new/, listed with exact size, readable byte for byte', async (t) => {
  const root = freshRoot();
  const s = await started(root);
  const r = await s.deliver(msg(1), [{ user: 'alice' }]);
  t.is(r.delivered, 1);
  const files = readdirSync(join(root, 'alice', 'new'));
  t.deepEqual(files, [r.uniqueName]);
  t.true(readFileSync(join(root, 'alice', 'new', files[0])).equals(msg(1)));
  t.deepEqual(readdirSync(join(root, 'alice', 'tmp')), []);
  const snap = await s.open('alice', 'inbox');
  t.is(snap.messages.length, 1);
  const m = snap.messages[0];
  t.is(m.uid, 1);
  t.is(m.size, msg(1).length);
  t.is(m.headers.subject, 'message 1\tfolded');
  t.is(m.headers['message-id'], '<1@x.test>');
  t.true(m.uidl.length <= 70);
  t.true((await s.read('alice', 'INBOX', 1)).equals(msg(1)));
  const chunks: Buffer[] = [];
  for await (const c of await s.stream('alice', 'INBOX', 1)) chunks.push(c as Buffer);
  t.true(Buffer.concat(chunks).equals(msg(1)));
  await s.stop();
});

test('one message to several users and folders is stored once per target (hard links)', async (t) => {
  const root = freshRoot();
  const s = await started(root);
  const r = await s.deliver(
    [Buffer.from('Subject: x\r\n\r\n'), Buffer.from('hi\r\n')],
    [{ user: 'alice' }, { user: 'bob' }, { user: 'alice' }, { user: 'bob', folder: 'Archive' }],
  );
  t.is(r.delivered, 3);
  for (const dir of ['alice/new', 'bob/new', 'bob/.Archive/new']) {
    t.is(readFileSync(join(root, dir, r.uniqueName), 'utf8'), 'Subject: x\r\n\r\nhi\r\n');
  }
  t.true(existsSync(join(root, 'bob', '.Archive', 'maildirfolder')));
  t.is(statSync(join(root, 'alice/new', r.uniqueName)).nlink, 3);
  await s.stop();
});

test('UIDs, UIDVALIDITY and flags survive a restart; the uid list is in dovecot-uidlist format', async (t) => {
  const root = freshRoot();
  let s = await started(root);
  for (let i = 1; i <= 5; i++) await s.deliver(msg(i), [{ user: 'alice' }]);
  const before = await s.open('alice', 'INBOX');
  await s.expunge('alice', 'INBOX', [2]);
  await s.updateFlags('alice', 'INBOX', [3], 'add', ['\\Seen', '\\Flagged', '$Important']);
  await s.stop();
  const uidlist = readFileSync(join(root, 'alice', 'dovecot-uidlist'), 'utf8');
  // The header's N is rewritten with the whole list; lines appended since carry higher UIDs (readers take the maximum).
  t.regex(uidlist, new RegExp(`^3 V${before.uidValidity} N\\d+ G[0-9a-f]{32}\n`));
  // The expunged message's line stays until the list is compacted (a line without a file is ignored).
  t.true(uidlist.includes(`2 :${before.messages[1].uniqueName}\n`));
  t.true(readdirSync(join(root, 'alice', 'cur')).some((f) => f.endsWith(':2,FSa')));
  t.is(readFileSync(join(root, 'alice', 'dovecot-keywords'), 'utf8'), '0 $Important\n');

  s = await started(root);
  const after = await s.open('alice', 'INBOX');
  t.is(after.uidValidity, before.uidValidity);
  t.is(after.uidNext, 6);
  t.deepEqual(
    after.messages.map((m) => m.uid),
    [1, 3, 4, 5],
  );
  t.deepEqual(
    after.messages.map((m) => m.uniqueName),
    [1, 3, 4, 5].map((u) => before.messages[u - 1].uniqueName),
  );
  t.deepEqual(after.messages[1].flags, ['\\Flagged', '\\Seen', '$Important']);
  await s.deliver(msg(6), [{ user: 'alice' }]);
  t.deepEqual(
    (await s.open('alice', 'INBOX')).messages.map((m) => m.uid),
    [1, 3, 4, 5, 6],
  );
  await s.stop();
});

test('flags round trip: set, add, remove; \\Recent is never stored; unchanged flags are not "changed"', async (t) => {
  const s = await started(freshRoot());
  await s.deliver(msg(1), [{ user: 'alice' }]);
  let r = await s.updateFlags('alice', 'INBOX', [1], 'set', ['\\Answered', '\\Recent', 'Work']);
  t.deepEqual(r.changed[0].flags, ['\\Answered', 'Work']);
  r = await s.updateFlags('alice', 'INBOX', [1], 'add', ['\\Deleted', '\\Draft']);
  t.deepEqual(r.messages[0].flags, ['\\Draft', '\\Answered', '\\Deleted', 'Work']);
  r = await s.updateFlags('alice', 'INBOX', [1], 'remove', ['\\Answered', 'work']);
  t.deepEqual(r.messages[0].flags, ['\\Draft', '\\Deleted']);
  r = await s.updateFlags('alice', 'INBOX', [1], 'add', ['\\Draft']);
  t.is(r.changed.length, 0);
  t.deepEqual(await s.keywords('alice', 'INBOX'), ['Work']);
  t.deepEqual(await s.expunge('alice', 'INBOX'), [1]);
  t.is((await s.open('alice', 'INBOX')).messages.length, 0);
  await s.stop();
});

test('the index is rebuilt when missing or torn, and repaired when stale', async (t) => {
  const root = freshRoot();
  let s = await started(root);
  for (let i = 1; i <= 20; i++) await s.deliver(msg(i), [{ user: 'alice' }]);
  await s.updateFlags('alice', 'INBOX', [7], 'add', ['\\Seen']);
  const want = await s.open('alice', 'INBOX');
  await s.stop();
  t.true(existsSync(join(root, 'alice', 'labnet-index.json')));

  // A rebuilt index cannot know when each message last changed: every message gets one new
  // mod-sequence above any handed out before (RFC 7162: a client resyncs them all), the rest is equal.
  const highest = Math.max(...want.messages.map((m) => m.modseq));
  const withoutModseq = (snap: typeof want): unknown => ({ ...snap, messages: snap.messages.map(({ modseq: _m, ...rest }) => rest) });
  writeFileSync(join(root, 'alice', 'labnet-index.json'), '{"v":1,"uidValidity":');
  s = await started(root);
  let got = await s.open('alice', 'INBOX');
  t.deepEqual(withoutModseq(got), withoutModseq(want));
  t.true(got.messages.every((m) => m.modseq > highest));
  await s.stop();

  await fsp.rm(join(root, 'alice', 'labnet-index.json'));
  s = await started(root);
  const before = Math.max(...got.messages.map((m) => m.modseq));
  got = await s.open('alice', 'INBOX');
  t.deepEqual(withoutModseq(got), withoutModseq(want));
  t.true(got.messages.every((m) => m.modseq > before));
  await s.stop();
  // Stale: a file removed and one dropped in by hand while labnet was down.
  const [head, ...rows] = readFileSync(join(root, 'alice', 'labnet-index.json'), 'utf8')
    .trimEnd()
    .split('\n');
  t.like(JSON.parse(head), { v: 3, count: 20 });
  t.is(rows.length, 20);
  await fsp.rm(join(root, 'alice', 'cur', readdirSync(join(root, 'alice', 'cur'))[0]));
  writeFileSync(join(root, 'alice', 'new', '1.M1P1.byhand'), 'Subject: by hand\r\n\r\nx\r\n');
  s = await started(root);
  const snap = await s.open('alice', 'INBOX');
  t.is(snap.messages.length, 20);
  t.false(snap.messages.some((m) => m.uid === 7));
  const last = snap.messages[snap.messages.length - 1];
  t.is(last.uid, 21);
  t.is(last.headers.subject, 'by hand');
  t.is(last.size, Buffer.byteLength('Subject: by hand\r\n\r\nx\r\n'));
  await s.stop();
});

test('recovery at start: stale tmp/ files are removed, files in new/ and cur/ get UIDs', async (t) => {
  const root = freshRoot();
  for (const d of ['cur', 'new', 'tmp']) await fsp.mkdir(join(root, 'carol', d), { recursive: true });
  await fsp.mkdir(join(root, 'carol', '.Sent', 'cur'), { recursive: true });
  await fsp.mkdir(join(root, 'carol', '.Sent', 'tmp'), { recursive: true });
  writeFileSync(join(root, 'carol', 'tmp', 'torn'), 'Subject: half');
  writeFileSync(join(root, 'carol', '.Sent', 'tmp', 'torn2'), 'Subj');
  writeFileSync(join(root, 'carol', 'new', '100.M1P1Q1.h,S=9'), 'a: b\r\n\r\nx');
  writeFileSync(join(root, 'carol', 'cur', '99.M1P1Q1.h,S=9:2,S'), 'a: b\r\n\r\ny');
  writeFileSync(join(root, 'carol', '.Sent', 'cur', '98.M1P1Q1.h:2,RS'), 'Subject: sent\r\n\r\n');
  const s = await started(root);
  t.deepEqual(readdirSync(join(root, 'carol', 'tmp')), []);
  t.deepEqual(readdirSync(join(root, 'carol', '.Sent', 'tmp')), []);
  t.is(s.stats().recoveredTmpFiles, 2);
  const inbox = await s.open('carol', 'INBOX');
  t.deepEqual(
    inbox.messages.map((m) => [m.uid, m.uniqueName, m.flags]),
    [
      [1, '99.M1P1Q1.h,S=9', ['\\Seen']],
      [2, '100.M1P1Q1.h,S=9', []],
    ],
  );
  const sent = await s.open('carol', 'Sent');
  t.deepEqual(sent.messages[0].flags, ['\\Answered', '\\Seen']);
  t.deepEqual(await s.claimRecent('carol', 'INBOX'), [2]);
  t.deepEqual(await s.claimRecent('carol', 'INBOX'), []);
  await s.stop();
});

test('watchers see exists, flags and expunge; \\Recent goes to the first claimer only', async (t) => {
  const s = await started(freshRoot());
  await s.ensureMailbox('alice');
  await s.open('alice', 'INBOX');
  const seen: FolderChange[] = [];
  const off = s.watch('alice', 'INBOX', (c) => seen.push(c));
  await s.deliver(msg(1), [{ user: 'alice' }]);
  const snap = await s.open('alice', 'INBOX'); // runs after the delivery was recorded
  t.is(snap.messages.length, 1);
  await s.updateFlags('alice', 'INBOX', [1], 'add', ['\\Seen'], { origin: 'session-a' });
  await s.expunge('alice', 'INBOX', [1], { origin: 'session-b' });
  t.deepEqual(
    seen.map((c) => c.kind),
    ['exists', 'flags', 'expunge'],
  );
  t.is(seen[1].origin, 'session-a');
  t.deepEqual((seen[2] as unknown as { uids: number[] }).uids, [1]);
  off();
  await s.deliver(msg(2), [{ user: 'alice' }]);
  await s.open('alice', 'INBOX');
  t.is(seen.length, 3);
  t.deepEqual(await s.claimRecent('alice', 'INBOX'), [2]);
  t.deepEqual(await s.claimRecent('alice', 'INBOX'), []);
  t.is((await s.status('alice', 'INBOX')).recent, 0);
  await s.stop();
});

test('append with flags and date, copy and move return UID mappings', async (t) => {
  const root = freshRoot();
  const s = await started(root);
  await s.ensureDefaultFolders('alice');
  const folders = await s.listFolders('alice');
  t.deepEqual(
    folders.map((f) => [f.name, f.specialUse, f.subscribed]),
    [
      ['INBOX', undefined, false],
      ['Archive', '\\Archive', true],
      ['Drafts', '\\Drafts', true],
      ['Junk', '\\Junk', true],
      ['Sent', '\\Sent', true],
      ['Trash', '\\Trash', true],
    ],
  );
  const date = Date.UTC(2020, 0, 2, 3, 4, 5);
  const a = await s.append('alice', 'Drafts', msg(1), { flags: ['\\Draft', 'todo'], internalDate: date });
  t.is(a.uid, 1);
  t.is(a.message.internalDate, date);
  t.is(statSync(join(root, 'alice', '.Drafts', 'cur', readdirSync(join(root, 'alice', '.Drafts', 'cur'))[0])).mtimeMs, date);
  await s.append('alice', 'Drafts', msg(2));
  const c = await s.copy('alice', 'Drafts', [1, 2, 99], 'Sent');
  t.deepEqual(c.mapping, [
    [1, 1],
    [2, 2],
  ]);
  t.is(c.uidValidity, (await s.status('alice', 'Sent')).uidValidity);
  const sent = await s.open('alice', 'Sent');
  t.deepEqual(sent.messages[0].flags, ['\\Draft', 'todo']);
  t.is(sent.messages[0].internalDate, date);
  const mv = await s.move('alice', 'Sent', [2], 'Trash');
  t.deepEqual(mv.mapping, [[2, 1]]);
  t.deepEqual(mv.expunged, [2]);
  t.true((await s.read('alice', 'Trash', 1)).equals(msg(2)));
  t.deepEqual(
    (await s.open('alice', 'Sent')).messages.map((m) => m.uid),
    [1],
  );
  await s.stop();
});

test('folders: create, rename with children, rename INBOX, delete; errors carry codes', async (t) => {
  const s = await started(freshRoot());
  await s.ensureMailbox('bob');
  await s.createFolder('bob', 'Work');
  await s.createFolder('bob', 'Work.2024');
  await s.subscribe('bob', 'Work.2024');
  const err = await t.throwsAsync(s.createFolder('bob', 'Work'));
  t.is((err as MailStoreError).code, 'FOLDER_EXISTS');
  t.is((await t.throwsAsync<MailStoreError>(s.createFolder('bob', 'a..b')))?.code, 'INVALID_NAME');
  t.is((await t.throwsAsync<MailStoreError>(s.createFolder('bob', '../x')))?.code, 'INVALID_NAME');
  t.is((await t.throwsAsync<MailStoreError>(s.deleteFolder('bob', 'inbox')))?.code, 'CANNOT_DELETE_INBOX');
  t.is((await t.throwsAsync<MailStoreError>(s.open('bob', 'Nope')))?.code, 'NO_SUCH_FOLDER');
  await s.append('bob', 'Work.2024', msg(1));
  const gone: string[] = [];
  s.watch('bob', 'Work.2024', (c) => gone.push(c.kind));
  await s.renameFolder('bob', 'Work', 'Jobs');
  t.deepEqual(gone, ['gone']);
  t.deepEqual(
    (await s.listFolders('bob')).map((f) => [f.name, f.hasChildren, f.subscribed]),
    [
      ['INBOX', false, false],
      ['Jobs', true, false],
      ['Jobs.2024', false, true],
    ],
  );
  t.is((await s.open('bob', 'Jobs.2024')).messages.length, 1);
  await s.deliver(msg(2), [{ user: 'bob' }]);
  await s.deliver(msg(3), [{ user: 'bob' }]);
  await s.renameFolder('bob', 'INBOX', 'Old');
  t.is((await s.open('bob', 'INBOX')).messages.length, 0);
  t.deepEqual(
    (await s.open('bob', 'Old')).messages.map((m) => m.headers.subject),
    ['message 2\tfolded', 'message 3\tfolded'],
  );
  await s.deleteFolder('bob', 'Jobs');
  t.deepEqual(
    (await s.listFolders('bob')).map((f) => f.name),
    ['INBOX', 'Jobs.2024', 'Old'],
  );
  await s.createFolder('bob', 'Jobs');
  t.is((await s.open('bob', 'Jobs')).messages.length, 0);
  await s.stop();
});

for (const deliveryWriter of ['worker', 'inline'] as const) {
  test(`concurrent deliveries share directory fsyncs and get distinct, ordered UIDs (delivery writer ${deliveryWriter})`, async (t) => {
    const s = new MailStore({ root: freshRoot(), deliveryWriter });
    await s.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.deliver(msg(i), [{ user: 'alice' }])));
    const snap = await s.open('alice', 'INBOX');
    t.is(snap.messages.length, 200);
    t.deepEqual(
      snap.messages.map((m) => m.uid),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    t.is(new Set(snap.messages.map((m) => m.uniqueName)).size, 200);
    t.true(s.stats().dirSyncs < 200, `dir fsyncs ${s.stats().dirSyncs}`);
    await s.stop();
  });
}

test('the POP3 maildrop lock is exclusive until released', (t) => {
  const s = new MailStore({ root: freshRoot() });
  const release = s.lockMaildrop('alice');
  t.truthy(release);
  t.is(s.lockMaildrop('alice'), undefined);
  t.truthy(s.lockMaildrop('bob'));
  release!();
  t.truthy(s.lockMaildrop('alice'));
});

test('UID EXPUNGE semantics: onlyDeleted keeps the listed messages that are not \\Deleted', async (t) => {
  const s = await started(freshRoot());
  for (let i = 1; i <= 3; i++) await s.deliver(msg(i), [{ user: 'alice' }]);
  await s.updateFlags('alice', 'INBOX', [1, 3], 'add', ['\\Deleted']);
  t.deepEqual(await s.expunge('alice', 'INBOX', [1, 2], { onlyDeleted: true }), [1]);
  t.deepEqual(
    (await s.open('alice', 'INBOX')).messages.map((m) => m.uid),
    [2, 3],
  );
  t.deepEqual(await s.expunge('alice', 'INBOX', [2]), [2]);
  await s.stop();
});

test('a 10,000-message folder opens from the index without reading the messages', async (t) => {
  const root = freshRoot();
  const dir = join(root, 'dave');
  for (const d of ['cur', 'new', 'tmp']) await fsp.mkdir(join(dir, d), { recursive: true });
  const body = (i: number, subject: string): string => `Subject: ${subject} ${String(i).padStart(5, '0')}\r\nFrom: x@y.test\r\n\r\nbody\r\n`;
  for (let i = 0; i < 10_000; i++) writeFileSync(join(dir, 'cur', `1700000000.M${i}P1Q${i + 1}.h:2,S`), body(i, 'orig'));
  let s = await started(root); // builds the index by reading each message once
  t.is((await s.open('dave', 'INBOX')).messages.length, 10_000);
  await s.stop();
  // Rewrite every file in place with a different subject of the same length. Maildir messages are
  // immutable, so the index is trusted: a store that re-parsed the messages would see "edit".
  for (let i = 0; i < 10_000; i++) writeFileSync(join(dir, 'cur', `1700000000.M${i}P1Q${i + 1}.h:2,S`), body(i, 'edit'));
  s = await started(root);
  const snap = await s.open('dave', 'INBOX');
  t.is(snap.messages.length, 10_000);
  t.is(snap.messages[0].headers.subject, 'orig 00000');
  t.is(snap.messages[9_999].headers.subject, 'orig 09999');
  t.true(snap.messages.every((m) => m.flags.length === 1 && m.flags[0] === '\\Seen'));
  t.deepEqual(
    snap.messages.map((m) => m.uid),
    Array.from({ length: 10_000 }, (_, i) => i + 1),
  );
  await s.stop();
});

test('keywords: at most 26 per folder (letters a-z); a STORE that would exceed it changes nothing', async (t) => {
  const s = await started(freshRoot());
  await s.deliver(msg(1), [{ user: 'alice' }]);
  await s.deliver(msg(2), [{ user: 'alice' }]);
  const many = Array.from({ length: 25 }, (_, i) => `kw${i}`);
  await s.updateFlags('alice', 'INBOX', [1], 'add', many);
  const err = await t.throwsAsync(s.updateFlags('alice', 'INBOX', [1, 2], 'add', ['\\Seen', 'extra1', 'extra2']));
  t.is((err as MailStoreError).code, 'TOO_MANY_KEYWORDS');
  const snap = await s.open('alice', 'INBOX');
  t.is(snap.messages[0].flags.length, 25);
  t.deepEqual(snap.messages[1].flags, []);
  await s.updateFlags('alice', 'INBOX', [2], 'add', ['last', 'KW3']);
  t.deepEqual((await s.open('alice', 'INBOX')).messages[1].flags, ['kw3', 'last']);
  t.is((await s.keywords('alice', 'INBOX')).length, 26);
  await s.stop();
});

test('first login: the default folders are made in one step, concurrent logins share it, a deleted one comes back', async (t) => {
  const root = freshRoot();
  const s = await started(root);
  // Two sessions of one student log in together, a third student at the same time.
  await Promise.all([s.ensureDefaultFolders('alice'), s.ensureDefaultFolders('alice'), s.ensureDefaultFolders('bob')]);
  const expected = ['Archive', 'Drafts', 'Junk', 'Sent', 'Trash'];
  for (const user of ['alice', 'bob']) {
    t.deepEqual((await s.listFolders(user)).map((f) => f.name).sort(), ['INBOX', ...expected].sort());
    // One line per folder, each once, and no temporary file left behind.
    t.deepEqual(
      readFileSync(join(root, user, 'subscriptions'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .sort(),
      expected,
    );
    t.deepEqual(
      readdirSync(join(root, user)).filter((f) => f.endsWith('.tmp')),
      [],
    );
    for (const name of expected) {
      for (const d of ['cur', 'new', 'tmp']) t.true(statSync(join(root, user, `.${name}`, d)).isDirectory(), `${user} ${name}/${d}`);
      t.true(existsSync(join(root, user, `.${name}`, 'maildirfolder')));
    }
  }
  // A student's own subscriptions survive the next login; a deleted default folder is made again.
  await s.createFolder('alice', 'Projects');
  await s.subscribe('alice', 'Projects');
  await s.deleteFolder('alice', 'Junk');
  await s.unsubscribe('alice', 'Junk');
  await s.ensureDefaultFolders('alice');
  t.deepEqual((await s.listFolders('alice')).map((f) => f.name).sort(), ['INBOX', 'Projects', ...expected].sort());
  const subscriptions = (): string[] =>
    readFileSync(join(root, 'alice', 'subscriptions'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .sort();
  t.deepEqual(subscriptions(), [...expected, 'Projects'].sort());
  await s.stop();
  // After a restart nothing is made twice.
  const again = await started(root);
  await again.ensureDefaultFolders('alice');
  t.deepEqual(subscriptions(), [...expected, 'Projects'].sort());
  await again.stop();
});

test('first login: a folder that cannot be made fails with a storage error and is made at the next login', async (t) => {
  const root = freshRoot();
  const s = await started(root);
  await fsp.mkdir(join(root, 'carol'), { recursive: true });
  writeFileSync(join(root, 'carol', '.Sent'), 'in the way');
  const err = await t.throwsAsync(s.ensureDefaultFolders('carol'));
  t.true(err instanceof MailStoreError, String(err));
  t.false(String(err?.message).includes(root), 'no file-system path in the error');
  await fsp.rm(join(root, 'carol', '.Sent'));
  await s.ensureDefaultFolders('carol');
  t.true(existsSync(join(root, 'carol', '.Sent', 'cur')));
  t.deepEqual(
    readFileSync(join(root, 'carol', 'subscriptions'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .sort(),
    ['Archive', 'Drafts', 'Junk', 'Sent', 'Trash'],
  );
  await t.throwsAsync(s.ensureDefaultFolders('../x'), { instanceOf: MailStoreError });
  await s.stop();
});
