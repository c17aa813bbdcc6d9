// The delivery writer (core/mail-store/delivery-writer.ts) in both modes: the worker thread and the
// event loop run the same steps, report the file system's errors alike and leave nothing behind on a
// failure; a thread that cannot start hands its jobs to the event loop.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryFilesJob } from '../../core/mail-store/delivery-files.js';
import { createDeliveryWriter, InlineDeliveryWriter, ThreadDeliveryWriter } from '../../core/mail-store/delivery-writer.js';
import { GroupDirSync } from '../../core/mail-store/group-sync.js';
import { MailStore } from '../../core/mail-store/index.js';

function maildir(t: { teardown(fn: () => void): void }, ...names: string[]): string[] {
  const base = mkdtempSync(join(tmpdir(), 'labnet-delivery-writer-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  return names.map((n) => {
    for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(base, n, sub), { recursive: true });
    return join(base, n);
  });
}

function job(dirs: string[], name: string, text: string): DeliveryFilesJob {
  const data = Buffer.from(text);
  return {
    parts: [
      {
        chunks: [data.subarray(0, 5), data.subarray(5)],
        size: data.length,
        tmps: dirs.map((d) => join(d, 'tmp', name)),
        news: dirs.map((d) => join(d, 'new', name)),
      },
    ],
    syncDirs: dirs.map((d) => join(d, 'new')),
  };
}

for (const mode of ['worker', 'inline'] as const) {
  test(`${mode}: the file lands in new/ of every target, whole, with its mtime as the date`, async (t) => {
    const dirs = maildir(t, 'alice', 'bob');
    const w = createDeliveryWriter(mode, new GroupDirSync());
    const before = Date.now();
    const [date] = await w.write(job(dirs, 'm1', 'Subject: hi\r\n\r\nbody\r\n'));
    for (const d of dirs) {
      t.is(readFileSync(join(d, 'new', 'm1'), 'utf8'), 'Subject: hi\r\n\r\nbody\r\n');
      t.deepEqual(readdirSync(join(d, 'tmp')), []);
    }
    t.true(date >= before - 1000 && date <= Date.now() + 1000, `date ${date}`);
    t.true(w.dirSyncs >= 1);
    await w.stop();
  });

  test(`${mode}: a failure part-way removes every copy and keeps the errno code`, async (t) => {
    const [alice, bob] = maildir(t, 'alice', 'bob');
    rmSync(join(bob, 'tmp'), { recursive: true });
    const w = createDeliveryWriter(mode, new GroupDirSync());
    const err = await t.throwsAsync(w.write(job([alice, bob], 'm2', 'x\r\n')));
    t.is((err as NodeJS.ErrnoException).code, 'ENOENT');
    t.deepEqual(readdirSync(join(alice, 'tmp')), []);
    t.deepEqual(readdirSync(join(alice, 'new')), []);
    // An existing file is never overwritten (O_EXCL): EEXIST, and the old file stays.
    await w.write(job([alice], 'm3', 'first\r\n'));
    const again = await t.throwsAsync(
      w.write({ ...job([alice], 'm3', 'second\r\n'), parts: job([alice], 'm3', 'second\r\n').parts.map((p) => ({ ...p, tmps: [join(alice, 'new', 'm3')] })) }),
    );
    t.is((again as NodeJS.ErrnoException).code, 'EEXIST');
    t.is(readFileSync(join(alice, 'new', 'm3'), 'utf8'), 'first\r\n');
    await w.stop();
  });

  test(`${mode}: jobs handed over in one turn (the thread gets them in one message, written before any is synced): one failing does not hold the others, and leaves nothing`, async (t) => {
    const [alice, bob] = maildir(t, 'alice', 'bob');
    const w = createDeliveryWriter(mode, new GroupDirSync());
    await w.write(job([alice], 'taken', 'first\r\n'));
    rmSync(join(bob, 'tmp'), { recursive: true });
    const names = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    // A uid-list append in the same turn waits for the batch's writes too, and still lands.
    const appended = w.append(join(alice, 'list'), '1 :b1\n', true, () => {});
    const results = await Promise.allSettled(
      names.map((n, i) => {
        if (i === 2) return w.write(job([alice, bob], n, `to bob too ${n}\r\n`)); // bob has no tmp/: ENOENT
        if (i === 4)
          return w.write({
            ...job([alice], n, 'second\r\n'),
            parts: job([alice], n, 'second\r\n').parts.map((p) => ({ ...p, tmps: [join(alice, 'new', 'taken')] })),
          }); // EEXIST
        return w.write(job([alice], n, `message ${n}\r\n`));
      }),
    );
    t.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as NodeJS.ErrnoException).code)),
      ['ok', 'ok', 'ENOENT', 'ok', 'EEXIST', 'ok'],
    );
    for (const i of [0, 1, 3, 5]) t.is(readFileSync(join(alice, 'new', names[i]), 'utf8'), `message ${names[i]}\r\n`);
    t.deepEqual(readdirSync(join(alice, 'new')).sort(), ['b1', 'b2', 'b4', 'b6', 'taken']);
    t.is(readFileSync(join(alice, 'new', 'taken'), 'utf8'), 'first\r\n');
    t.deepEqual(readdirSync(join(alice, 'tmp')), []);
    await appended;
    t.is(readFileSync(join(alice, 'list'), 'utf8'), '1 :b1\n');
    await w.stop();
  });

  test(`${mode}: appends (the uid list's) land in order, durable, and report errors`, async (t) => {
    const [alice] = maildir(t, 'alice');
    const w = createDeliveryWriter(mode, new GroupDirSync());
    const path = join(alice, 'dovecot-uidlist');
    for (let i = 1; i <= 3; i++) await w.append(path, `${i} :m${i}\n`, true, () => t.fail('cut failed'));
    t.is(readFileSync(path, 'utf8'), '1 :m1\n2 :m2\n3 :m3\n');
    const err = await t.throwsAsync(w.append(join(alice, 'missing', 'list'), 'x\n', true, () => undefined));
    t.is((err as NodeJS.ErrnoException).code, 'ENOENT');
    await w.stop();
  });

  test(`${mode}: a store delivering to two users and a second part, then read back`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'labnet-delivery-writer-store-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const s = new MailStore({ root, deliveryWriter: mode });
    await s.start();
    const results = await s.deliverEach([
      { content: [Buffer.from('Subject: one\r\n'), Buffer.from('\r\nhello\r\n')], targets: [{ user: 'alice' }, { user: 'bob' }] },
      { content: Buffer.from('Subject: two\r\n\r\ncaptured\r\n'), targets: [{ user: 'carol', folder: 'Captured' }] },
    ]);
    t.deepEqual(
      results.map((r) => r.delivered),
      [2, 1],
    );
    for (const user of ['alice', 'bob']) {
      const snap = await s.open(user, 'INBOX');
      t.is(snap.messages.length, 1);
      t.is((await s.read(user, 'INBOX', snap.messages[0].uid)).toString(), 'Subject: one\r\n\r\nhello\r\n');
    }
    t.is((await s.open('carol', 'Captured')).messages[0].headers.subject, 'two');
    await s.stop();
  });
}

test('a thread that cannot start: the jobs run on the event loop', async (t) => {
  const dirs = maildir(t, 'alice');
  const w = new ThreadDeliveryWriter(new InlineDeliveryWriter(new GroupDirSync()), undefined, join(tmpdir(), 'labnet-no-such-thread.js'));
  const dates = await Promise.all([w.write(job(dirs, 'a', 'a\r\n')), w.write(job(dirs, 'b', 'b\r\n'))]);
  t.is(dates.length, 2);
  t.true(existsSync(join(dirs[0], 'new', 'a')) && existsSync(join(dirs[0], 'new', 'b')));
  // Later jobs go straight to the event loop.
  await w.write(job(dirs, 'c', 'c\r\n'));
  t.true(existsSync(join(dirs[0], 'new', 'c')));
  await w.stop();
});
