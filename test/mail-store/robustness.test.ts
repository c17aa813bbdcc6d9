// Issue 14: what a client stored can never stop a start or grow the heap without bound. The index
// keeps a bounded part of each message's header fields (the rest is read from the file on demand);
// garbage in the Maildir (links, directories, FIFOs, damaged uid lists, indexes and keyword files) is
// skipped and logged; every write is complete or fails.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileHandle } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { checkFolderName, INDEX_LIMITS, MailStore, MailStoreError, parseHeaderFields } from '../../core/mail-store/index.js';
import { writeAll } from '../../core/mail-store/fs-util.js';
import { RESERVE_FILE } from '../../core/mail-store/space-reserve.js';
import { indexHeaderFields } from '../../core/mail-store/header-fields.js';
import { parseUidList } from '../../core/mail-store/uid-list.js';

const here = dirname(fileURLToPath(import.meta.url));

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labnet-store-robust-'));
}

function maildir(root: string, user: string, folder = ''): string {
  const dir = join(root, user, folder ? `.${folder}` : '');
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  return dir;
}

const message = (subject: string, extra = ''): string => `From: a@lab.test\r\nSubject: ${subject}\r\n${extra}\r\nbody\r\n`;

function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) }) as Logger;
  return { logger, lines };
}

test('a start never fails on what is in the Maildirs: links, directories, FIFOs, damaged files, odd names are skipped and logged', async (t) => {
  const root = freshRoot();
  const inbox = maildir(root, 'alice');
  writeFileSync(join(inbox, 'new', '100.M1P1Q1.h,S=1'), message('good one'));
  symlinkSync('/etc/hostname', join(inbox, 'cur', '101.M1P1Q2.h:2,S'));
  mkdirSync(join(inbox, 'cur', '102.M1P1Q3.h:2,'));
  execFileSync('mkfifo', [join(inbox, 'new', '103.M1P1Q4.h')]);
  // A lying size in the name, and info letters that are not letters.
  writeFileSync(join(inbox, 'cur', '104.M1P1Q5.h,S=999999999999:2,S!!~F'), message('odd name'));
  writeFileSync(join(inbox, 'dovecot-uidlist'), Buffer.from([0xff, 0xfe, 0, 1, 2, 3, 10, 10]));
  writeFileSync(join(inbox, 'labnet-index.json'), Buffer.alloc(5000, 0xaa));
  writeFileSync(join(inbox, 'dovecot-keywords'), '0 good\n1 bad keyword\n2 evil\r\n* 1 EXISTS\n3 (paren\n26 toofar\nnot a line\n');
  // A folder whose uid list is a directory, one whose new/ is a file, and names that are not users.
  const broken = maildir(root, 'alice', 'Broken');
  mkdirSync(join(broken, 'dovecot-uidlist'));
  mkdirSync(join(root, 'alice', '.Odd', 'cur'), { recursive: true });
  writeFileSync(join(root, 'alice', '.Odd', 'new'), 'not a directory');
  mkdirSync(join(root, 'Bob', 'cur'), { recursive: true });
  writeFileSync(join(root, 'stray-file'), 'x');
  const { logger, lines } = capturingLogger();
  const s = new MailStore({ root, logger });
  await s.start();
  t.is(s.stats().failedFolders, 2);
  const snap = await s.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => [m.headers.subject, m.flags]),
    [
      ['good one', []],
      ['odd name', ['\\Flagged', '\\Seen']],
    ],
  );
  // The real size wins over the name's ",S=".
  t.is(snap.messages[1].size, Buffer.byteLength(message('odd name')));
  t.deepEqual(await s.keywords('alice', 'INBOX'), ['good']);
  t.true(lines.some((l) => /not regular files/.test(JSON.stringify(l))));
  t.true(lines.some((l) => /could not be loaded/.test(l.msg)));
  // The broken folder is tried again when used, and says why (without a path).
  const err = await t.throwsAsync(s.open('alice', 'Broken'));
  t.true(err instanceof MailStoreError && (err.code === 'IO_ERROR' || err.code === 'NO_SUCH_FOLDER'));
  t.false(err.message.includes(root));
  await s.stop();
});

test('a uid list with duplicate UIDs, a name listed twice and a torn last line: UIDs stay unique and the next append starts a new line', async (t) => {
  const list = parseUidList('3 V100 N5 Gabc\n1 :a\n2 :b\n2 :c\n3 :a\n7 :d\n4 :e\n8 :torn-no-newline');
  t.truthy(list);
  t.deepEqual([...list!.uids].sort(), [
    ['a', 3],
    ['b', 2],
    ['d', 7],
    ['e', 4],
    ['torn-no-newline', 8],
  ]);
  t.is(list!.uidNext, 9);
  t.true(list!.torn);

  const root = freshRoot();
  const inbox = maildir(root, 'alice');
  for (const n of ['a', 'b', 'c']) writeFileSync(join(inbox, 'new', `1.M1P1Q1.${n}`), message(n));
  writeFileSync(join(inbox, 'dovecot-uidlist'), '3 V100 N3 Gabc\n1 :1.M1P1Q1.a\n1 :1.M1P1Q1.b\n2 :1.M1P1Q1.c\n9 :1.M1P1Q1.gone-and-to');
  const s = new MailStore({ root });
  await s.start();
  const snap = await s.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => [m.uid, m.headers.subject]),
    [
      [1, 'a'],
      [2, 'c'],
      [10, 'b'],
    ],
  );
  await s.deliver(Buffer.from(message('after')), [{ user: 'alice' }]);
  await s.stop();
  const text = readFileSync(join(inbox, 'dovecot-uidlist'), 'utf8');
  t.true(text.endsWith('\n'));
  t.true(text.split('\n').every((l) => l === '' || /^(3 V|\d+ :)/.test(l)));
  const again = new MailStore({ root });
  await again.start();
  t.deepEqual(
    (await again.open('alice', 'INBOX')).messages.map((m) => [m.uid, m.headers.subject]),
    [
      [1, 'a'],
      [2, 'c'],
      [10, 'b'],
      [11, 'after'],
    ],
  );
  await again.stop();
});

test('the index keeps a bounded part of huge header fields; headerFields() reads the exact values from the file', async (t) => {
  const root = freshRoot();
  const s = new MailStore({ root });
  await s.start();
  const subject = 'S'.repeat(200 * 1024);
  const to = Array.from({ length: 2000 }, (_, i) => `student${i}@lab.test`).join(', ');
  const a = await s.append('alice', 'INBOX', Buffer.from(`Subject: ${subject}\r\nTo: ${to}\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n`));
  await s.deliver(Buffer.from(message('small')), [{ user: 'alice' }]);
  await s.stop();
  const again = new MailStore({ root });
  await again.start();
  const [big, small] = (await again.open('alice', 'INBOX')).messages;
  t.true(big.headersTruncated);
  t.is(big.uid, a.uid);
  t.true(big.headers.subject!.length <= INDEX_LIMITS.fieldChars && subject.startsWith(big.headers.subject!));
  const kept = Object.values(big.headers).reduce((n, v) => n + v.length, 0);
  t.true(kept <= INDEX_LIMITS.totalChars);
  t.false(small.headersTruncated);
  t.is(small.headers.subject, 'small');
  const full = await again.headerFields('alice', 'INBOX', big.uid);
  t.is(full.subject, subject);
  t.is(full.to, to);
  t.is(full['message-id'], '<x@y>');
  await again.stop();
});

test('a restart with 300 messages of a 200 KB Subject costs a few MB of heap, not hundreds', (t) => {
  const root = freshRoot();
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'fixtures', 'heap-probe.js'), root, '300', '200'], { encoding: 'utf8', timeout: 100_000 });
  t.is(r.status, 0, r.stderr);
  const used = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')),
  ) as Record<string, string>;
  t.log(`heap: first start ${(Number(used.scan) / 1e6).toFixed(1)} MB, restart ${(Number(used.restart) / 1e6).toFixed(1)} MB`);
  // The bound: about 1,024 characters of header values and a few hundred octets of bookkeeping per message.
  t.true(Number(used.restart) < 8e6, `restart heap ${used.restart}`);
  t.true(Number(used.scan) < 8e6, `first start heap ${used.scan}`);
});

// The parser the index used before (split the decoded head into lines): the reference for the new one.
function referenceFields(head: Buffer): Record<string, string> {
  const text = head.toString('utf8');
  const end = /\r?\n\r?\n/.exec(text);
  const out: Record<string, string> = {};
  let name = '';
  let value = '';
  const wanted = new Set(['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id']);
  const flush = (): void => {
    if (name && wanted.has(name) && out[name] === undefined) out[name] = value.trim();
    name = '';
    value = '';
  };
  for (const raw of (end ? text.slice(0, end.index) : text).split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0) break;
    if (line[0] === ' ' || line[0] === '\t') {
      if (name) value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return out;
}

const fieldName = fc.constantFrom('Subject', 'From', 'To', 'cc', 'DATE', 'Message-ID', 'X-Other', 'In-Reply-To', 'Received', 'Reply-To');
const fieldValue = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
  fc.string({ unit: fc.constantFrom('a', 'é', '😀', ' ', ','), maxLength: 3000 }),
  fc
    .array(
      fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
      { maxLength: 5 },
    )
    .map((parts) => parts.join('\r\n\t')),
);
const head = fc
  .array(fc.tuple(fieldName, fieldValue), { maxLength: 14 })
  .map((fields) => Buffer.from(fields.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\nbody: not a header\r\n'));

test('property: header fields read from the octets match the reference parser; the index keeps prefixes within the limits and says when it cut', (t) => {
  fc.assert(
    fc.property(head, (buf) => {
      const full = parseHeaderFields(buf);
      if (JSON.stringify(full) !== JSON.stringify(referenceFields(buf))) return false;
      const { headers, truncated } = indexHeaderFields(buf);
      let total = 0;
      let cut = false;
      for (const [k, v] of Object.entries(full)) {
        const kept = headers[k as keyof typeof headers];
        if (kept === undefined) {
          cut = true;
          continue;
        }
        if (kept.length > INDEX_LIMITS.fieldChars || !v.startsWith(kept)) return false;
        if (kept !== v) cut = true;
        total += kept.length;
      }
      if (total > INDEX_LIMITS.totalChars) return false;
      // Truncation is never hidden (it may be reported for a field that does not exist: harmless).
      return !cut || truncated;
    }),
    { numRuns: 400 },
  );
  t.pass();
});

test('property: writeAll writes every octet through any pattern of short writes, and a write that makes no progress is ENOSPC', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
      async (chunks, limits) => {
        const out: number[] = [];
        let call = 0;
        const take = (bufs: Buffer[]): number => {
          let n = Math.min(
            limits[call++ % limits.length],
            bufs.reduce((a, b) => a + b.length, 0),
          );
          const written = n;
          for (const b of bufs) {
            const k = Math.min(n, b.length);
            out.push(...b.subarray(0, k));
            n -= k;
          }
          return written;
        };
        const fh = {
          write: (b: Buffer) => Promise.resolve({ bytesWritten: take([b]), buffer: b }),
          writev: (bs: Buffer[]) => Promise.resolve({ bytesWritten: take(bs), buffers: bs }),
        } as unknown as FileHandle;
        const total = await writeAll(
          fh,
          chunks.map((c) => Buffer.from(c)),
          0,
        );
        const want = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        return total === want.length && Buffer.from(out).equals(want);
      },
    ),
    { numRuns: 300 },
  );
  const stuck = { write: () => Promise.resolve({ bytesWritten: 0 }), writev: () => Promise.resolve({ bytesWritten: 0 }) } as unknown as FileHandle;
  await t.throwsAsync(writeAll(stuck, [Buffer.from('x')], 0), { code: 'ENOSPC' });
});

test('expunged messages leave their uid list lines until they outnumber the live ones; then the list is compacted, and UIDs are still never reused', async (t) => {
  const root = freshRoot();
  const s = new MailStore({ root, indexSaveDelayMs: 0 });
  await s.start();
  for (let i = 0; i < 1300; i++) await s.append('alice', 'INBOX', Buffer.from(message(`m${i}`)));
  const uids = (await s.open('alice', 'INBOX')).messages.map((m) => m.uid);
  await s.expunge('alice', 'INBOX', uids.slice(0, 100));
  const lines = (): number =>
    readFileSync(join(root, 'alice', 'dovecot-uidlist'), 'utf8')
      .trimEnd()
      .split('\n').length - 1;
  t.is(lines(), 1300);
  await s.expunge('alice', 'INBOX', uids.slice(100, 1250));
  await (await s.openFolder('alice', 'INBOX')).mutex.run(() => undefined);
  await new Promise((resolve) => setImmediate(resolve));
  await (await s.openFolder('alice', 'INBOX')).mutex.run(() => undefined);
  t.is(lines(), 50);
  t.regex(readFileSync(join(root, 'alice', 'dovecot-uidlist'), 'utf8'), /^3 V\d+ N1301 /);
  await s.stop();
  const again = new MailStore({ root });
  await again.start();
  const snap = await again.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => m.uid),
    uids.slice(1250),
  );
  t.is((await again.append('alice', 'INBOX', Buffer.from(message('next')))).uid, 1301);
  await again.stop();
});

test('an APPEND or COPY committed (uid list line written) but not yet renamed when the process died is completed at start; other tmp/ files are removed', async (t) => {
  const root = freshRoot();
  const s = new MailStore({ root });
  await s.start();
  await s.append('alice', 'INBOX', Buffer.from(message('first')));
  await s.stop();
  const inbox = join(root, 'alice');
  writeFileSync(join(inbox, 'tmp', '1800000000.M1P9Q9.h,S=40:2,FS'), message('committed'));
  appendFileSync(join(inbox, 'dovecot-uidlist'), '7 :1800000000.M1P9Q9.h,S=40\n');
  writeFileSync(join(inbox, 'tmp', '1800000001.M1P9Q10.h'), 'Subject: half a deliv');
  const again = new MailStore({ root });
  await again.start();
  const snap = await again.open('alice', 'INBOX');
  t.deepEqual(
    snap.messages.map((m) => [m.uid, m.headers.subject, m.flags]),
    [
      [1, 'first', []],
      [7, 'committed', ['\\Flagged', '\\Seen']],
    ],
  );
  t.deepEqual(readdirSync(join(inbox, 'tmp')), []);
  t.is(again.stats().recoveredTmpFiles, 2);
  await again.stop();
});

test('folder names longer than a directory name can be are refused as INVALID_NAME, not a file-system error', async (t) => {
  t.throws(() => checkFolderName('€'.repeat(100)), { code: 'INVALID_NAME' });
  const s = new MailStore({ root: freshRoot() });
  await s.start();
  const err = await t.throwsAsync(s.createFolder('alice', 'ü'.repeat(190)));
  t.is((err as MailStoreError).code, 'INVALID_NAME');
  await s.stop();
});

test('the space reserve: while it cannot be made whole new mail is NO_SPACE; the first APPEND after an expunge freed room tries again at once', async (t) => {
  const root = freshRoot();
  const inbox = maildir(root, 'alice');
  writeFileSync(join(inbox, 'cur', '1700000000.M1P1.lab:2,'), message('old'));
  // The reserve's place is taken (a directory stands where its file goes), as on a full disk: it cannot be made.
  const blocker = join(root, RESERVE_FILE);
  mkdirSync(blocker);
  const store = new MailStore({ root, reserveBytes: 4096, quota: { maxBytes: 0, maxMessages: 0 } });
  await store.start();
  try {
    const refused = await t.throwsAsync(store.append('alice', 'INBOX', Buffer.from(message('refused'))));
    t.is((refused as MailStoreError).code, 'NO_SPACE');
    // Room is made: the blocker goes and a message is expunged. The next APPEND must not wait out
    // the retry interval (it came within a second of the failed try and was refused before the fix).
    rmdirSync(blocker);
    const uids = (await store.open('alice', 'INBOX')).messages.map((m) => m.uid);
    t.is(uids.length, 1);
    await store.expunge('alice', 'INBOX', uids);
    const res = await store.append('alice', 'INBOX', Buffer.from(message('after the expunge')));
    t.true(res.uid > uids[0]);
    t.true(statSync(blocker).isFile(), 'the reserve is whole again');
  } finally {
    await store.stop();
  }
});

for (const mode of ['worker', 'inline'] as const)
  test(`deliveries in flight while the uid list is compacted (delivery writer ${mode}): each keeps the UID it became visible with, in the rewritten list and after a restart`, async (t) => {
    const root = freshRoot();
    const s = new MailStore({ root, indexSaveDelayMs: 0, deliveryWriter: mode });
    await s.start();
    for (let i = 0; i < 1200; i++) await s.append('alice', 'INBOX', Buffer.from(message(`m${i}`)));
    const uids = (await s.open('alice', 'INBOX')).messages.map((m) => m.uid);
    const seen = new Map<string, number>();
    (await s.openFolder('alice', 'INBOX')).watch((c) => {
      if (c.kind === 'exists') for (const m of c.messages) seen.set(m.uniqueName, m.uid);
    });
    // The expunge's commit schedules the compaction; deliveries keep starting while it runs (their
    // uid-list lines are appended outside the folder's lock, so the rewrite must not lose them).
    const expunging = s.expunge('alice', 'INBOX', uids.slice(0, 1150));
    let compacted = false;
    const delivered: Array<{ uniqueName: string }> = [];
    const chains = Array.from({ length: 4 }, async (_, c) => {
      // Bounded: at most 500 each; they stop once the compaction has run.
      for (let i = 0; i < 500 && !compacted; i++) delivered.push(await s.deliver(Buffer.from(message(`d${c}-${i}`)), [{ user: 'alice' }]));
    });
    await expunging;
    await (await s.openFolder('alice', 'INBOX')).mutex.run(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await (await s.openFolder('alice', 'INBOX')).mutex.run(() => undefined);
    compacted = true;
    await Promise.all(chains);
    const visibleUids = delivered.map((d) => seen.get(d.uniqueName));
    t.true(
      visibleUids.every((u) => u !== undefined && u > 1200),
      'every delivery visible with a new UID when deliver resolved',
    );
    const list = parseUidList(readFileSync(join(root, 'alice', 'dovecot-uidlist'), 'utf8'))!;
    t.is(list.uids.size, 50 + delivered.length, 'compacted: the 50 kept and the delivered ones');
    t.deepEqual(
      delivered.map((d) => list.uids.get(d.uniqueName)),
      visibleUids,
    );
    await s.stop();
    const again = new MailStore({ root });
    await again.start();
    const byName = new Map((await again.open('alice', 'INBOX')).messages.map((m) => [m.uniqueName, m.uid]));
    t.deepEqual(
      delivered.map((d) => byName.get(d.uniqueName)),
      visibleUids,
    );
    await again.stop();
  });
