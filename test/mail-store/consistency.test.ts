// Issue 19: every mutation, index save and snapshot sees one consistent state. Concurrent clients of
// the store API (APPEND, STORE, EXPUNGE, COPY), in this process and in a child process killed with
// SIGKILL in the middle; afterwards the UIDs are strictly increasing and never reused, UIDVALIDITY is
// stable, every acknowledged APPEND is there with its UID and flags, and nothing else is.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { MailStore, type FolderChange } from '../../core/mail-store/index.js';
import { checkAgainst, expectationFrom, messageFor, raceClients, type LogLine, type Observed } from './fixtures/racing-clients.js';
import { killWorkerAfterAcks } from './fixtures/kill-worker.js';

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labnet-store-consistency-'));
}

/** A logger that keeps what is logged at warn level and above. */
function capturingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void errors.push(s) }) as Logger;
  return { logger, errors };
}

async function observe(store: MailStore, folder: string): Promise<Observed> {
  const snap = await store.open('alice', folder);
  return {
    name: folder,
    uidValidity: snap.uidValidity,
    uidNext: snap.uidNext,
    messages: snap.messages.map((m) => ({ uid: m.uid, subject: m.headers.subject, flags: m.flags })),
  };
}

const LETTER: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };

/** Memory matches the directory: the same messages, and the flags the file names say. */
function diskProblems(dir: string, snap: Awaited<ReturnType<MailStore['open']>>): string[] {
  const onDisk = new Map<string, string>();
  for (const sub of ['new', 'cur']) {
    for (const f of readdirSync(join(dir, sub))) {
      const i = f.indexOf(':2,');
      onDisk.set(i < 0 ? f : f.slice(0, i), i < 0 ? '' : f.slice(i + 3));
    }
  }
  const problems: string[] = [];
  if (onDisk.size !== snap.messages.length) problems.push(`${dir}: ${onDisk.size} files, ${snap.messages.length} messages`);
  const keywords = readFileSync(join(dir, 'dovecot-keywords'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[1]);
  for (const m of snap.messages) {
    const letters = onDisk.get(m.uniqueName);
    if (letters === undefined) {
      problems.push(`${dir}: no file for UID ${m.uid}`);
      continue;
    }
    const want =
      m.flags
        .filter((f) => f.startsWith('\\'))
        .map((f) => LETTER[f])
        .sort()
        .join('') +
      m.flags
        .filter((f) => !f.startsWith('\\'))
        .map((k) => String.fromCharCode(97 + keywords.indexOf(k)))
        .sort()
        .join('');
    if (want !== letters) problems.push(`${dir}: UID ${m.uid} flags [${m.flags.join(' ')}] but file letters "${letters}"`);
  }
  return problems;
}

/** The index file (a cache) names exactly the snapshot's messages. */
function indexProblems(dir: string, snap: Awaited<ReturnType<MailStore['open']>>): string[] {
  const [head, ...rows] = readFileSync(join(dir, 'labnet-index.json'), 'utf8').trimEnd().split('\n');
  const h = JSON.parse(head) as { v: number; uidValidity: number; count: number };
  const uids = rows.map((r) => (JSON.parse(r) as [number])[0]);
  const want = snap.messages.map((m) => m.uid);
  const problems: string[] = [];
  if (h.uidValidity !== snap.uidValidity) problems.push(`${dir}: index UIDVALIDITY ${h.uidValidity}`);
  if (h.count !== want.length || uids.join() !== want.join()) problems.push(`${dir}: index has UIDs ${uids.length}, snapshot ${want.length}`);
  return problems;
}

test('an index save started by a timer while an expunge is under way sees one consistent state (issue 19 crash)', async (t) => {
  const root = freshRoot();
  const { logger, errors } = capturingLogger();
  // Index saves fire as soon as anything changed, so one lands inside every expunge's awaits.
  const store = new MailStore({ root, logger, indexSaveDelayMs: 0, quota: { maxBytes: 0, maxMessages: 0 } });
  await store.start();
  for (let i = 0; i < 200; i++) await store.append('alice', 'INBOX', messageFor(`c0-${i}`));
  const uids = (await store.open('alice', 'INBOX')).messages.map((m) => m.uid);
  for (let round = 0; round < 10; round++) {
    const batch = uids.slice(round * 20, round * 20 + 20);
    await store.updateFlags('alice', 'INBOX', batch, 'add', ['\\Deleted']);
    // The save scheduled by the STORE fires while this expunge awaits its unlinks.
    const removed = await store.expunge('alice', 'INBOX');
    t.deepEqual(removed, batch);
  }
  await store.stop();
  t.deepEqual(errors, []);
  const again = new MailStore({ root });
  await again.start();
  const snap = await again.open('alice', 'INBOX');
  t.is(snap.messages.length, 0);
  t.deepEqual(indexProblems(join(root, 'alice'), snap), []);
  await again.stop();
});

test('racing clients: APPEND, STORE, EXPUNGE and COPY with index saves in between keep one consistent state, and a restart shows the same', async (t) => {
  const root = freshRoot();
  const { logger, errors } = capturingLogger();
  let store = new MailStore({ root, logger, indexSaveDelayMs: 0, quota: { maxBytes: 0, maxMessages: 0 } });
  await store.start();
  await store.ensureDefaultFolders('alice');
  const lines: LogLine[] = [];
  await raceClients(store, 'alice', { clients: 6, opsPerClient: 120, seed: 7, log: (l) => lines.push(l) });
  const e = expectationFrom(lines);
  const before = [await observe(store, 'INBOX'), await observe(store, 'Archive')];
  t.deepEqual(checkAgainst(e, before[0], before[1]), []);
  t.true(e.inbox.size > 20 && e.archive.size > 10, 'the clients did enough to race');
  const snaps = { INBOX: await store.open('alice', 'INBOX'), Archive: await store.open('alice', 'Archive') };
  await store.stop();
  t.deepEqual(errors, []);
  t.deepEqual(diskProblems(join(root, 'alice'), snaps.INBOX), []);
  t.deepEqual(diskProblems(join(root, 'alice', '.Archive'), snaps.Archive), []);
  t.deepEqual(indexProblems(join(root, 'alice'), snaps.INBOX), []);
  t.deepEqual(indexProblems(join(root, 'alice', '.Archive'), snaps.Archive), []);

  store = new MailStore({ root, logger });
  await store.start();
  t.deepEqual(await store.open('alice', 'INBOX'), snaps.INBOX);
  t.deepEqual(await store.open('alice', 'Archive'), snaps.Archive);
  // A UID is never handed out twice: the next APPEND gets one above everything seen.
  const next = await store.append('alice', 'INBOX', messageFor('c9-0'));
  t.true(next.uid >= snaps.INBOX.uidNext);
  await store.stop();
  t.deepEqual(errors, []);
});

test('a process killed with SIGKILL in the middle of racing clients: every acknowledged operation survives, nothing else appears, UIDs stay unique', async (t) => {
  const root = freshRoot();
  const logPath = join(root, '..', `${root.split('/').pop()}.log`);
  writeFileSync(logPath, '');
  // Killed once enough has been acknowledged, whatever it is doing at that moment.
  const { signal } = await killWorkerAfterAcks('store-worker.js', [root, logPath, '11'], 400);
  t.is(signal, 'SIGKILL');
  const lines = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);
  const e = expectationFrom(lines);
  t.true(e.inbox.size > 0);

  const { logger, errors } = capturingLogger();
  const first = new MailStore({ root, logger });
  await first.start();
  const inbox = await observe(first, 'INBOX');
  const archive = await observe(first, 'Archive');
  t.deepEqual(checkAgainst(e, inbox, archive), []);
  for (const dir of [join(root, 'alice', 'tmp'), join(root, 'alice', '.Archive', 'tmp')]) t.deepEqual(readdirSync(dir), []);
  const snaps = { INBOX: await first.open('alice', 'INBOX'), Archive: await first.open('alice', 'Archive') };
  await first.stop();
  t.deepEqual(diskProblems(join(root, 'alice'), snaps.INBOX), []);
  t.deepEqual(diskProblems(join(root, 'alice', '.Archive'), snaps.Archive), []);

  // A second restart changes nothing; new UIDs are above every UID handed out before the kill.
  const second = new MailStore({ root, logger });
  await second.start();
  t.deepEqual(await second.open('alice', 'INBOX'), snaps.INBOX);
  t.deepEqual(await second.open('alice', 'Archive'), snaps.Archive);
  const next = await second.append('alice', 'INBOX', messageFor('c9-1'));
  t.true(next.uid > e.maxUid.INBOX && next.uid >= snaps.INBOX.uidNext);
  const copy = await second.copy('alice', 'INBOX', [next.uid], 'Archive');
  t.true(copy.mapping[0][1] > e.maxUid.Archive);
  await second.stop();
  t.deepEqual(
    errors.filter((s) => (JSON.parse(s) as { level: number }).level >= 50),
    [],
  );
});

test('keyword events: the change that first uses a keyword in a folder says so (newKeywords, keywords)', async (t) => {
  const store = new MailStore({ root: freshRoot() });
  await store.start();
  await store.ensureDefaultFolders('alice');
  const events: Record<string, FolderChange[]> = { INBOX: [], Archive: [] };
  for (const f of ['INBOX', 'Archive']) store.watch('alice', f, (c) => events[f].push(c));
  const a = await store.append('alice', 'INBOX', messageFor('c0-1'), { flags: ['\\Seen', '$Work'] });
  t.like(events.INBOX.at(-1), { kind: 'exists', newKeywords: ['$Work'], keywords: ['$Work'] });
  const b = await store.append('alice', 'INBOX', messageFor('c0-2'), { flags: ['$work'] });
  t.is(events.INBOX.at(-1)?.kind, 'exists');
  t.false('newKeywords' in events.INBOX.at(-1)!, 'a keyword already defined (case-insensitively) is not new');
  await store.updateFlags('alice', 'INBOX', [b.uid], 'add', ['Later', '$WORK', 'Urgent']);
  t.like(events.INBOX.at(-1), { kind: 'flags', newKeywords: ['Later', 'Urgent'], keywords: ['$Work', 'Later', 'Urgent'] });
  await store.updateFlags('alice', 'INBOX', [a.uid], 'add', ['Later']);
  t.false('newKeywords' in events.INBOX.at(-1)!);
  // A COPY brings the keywords into the destination folder: new there.
  await store.copy('alice', 'INBOX', [a.uid, b.uid], 'Archive');
  t.like(events.Archive.at(-1), { kind: 'exists' });
  t.deepEqual([...((events.Archive.at(-1) as { newKeywords?: string[] }).newKeywords ?? [])].sort(), ['$Work', 'Later', 'Urgent']);
  t.deepEqual([...(await store.keywords('alice', 'Archive'))].sort(), ['$Work', 'Later', 'Urgent']);
  // A STORE refused for too many keywords defines none and publishes nothing.
  const count = events.INBOX.length;
  const many = Array.from({ length: 30 }, (_, i) => `kw${i}`);
  const err = await t.throwsAsync(store.updateFlags('alice', 'INBOX', [a.uid], 'add', many));
  t.is((err as { code?: string }).code, 'TOO_MANY_KEYWORDS');
  t.is(events.INBOX.length, count);
  await store.stop();
});
