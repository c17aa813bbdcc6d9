// Several real clients (imapflow and Python imaplib) write to one mailbox at once: APPEND, STORE,
// COPY and EXPUNGE of their own messages, while other sessions' changes reach them. In the middle the
// labnet process is killed with SIGKILL; after a restart on the same data directory every acknowledged
// change is there, nothing acknowledged as expunged came back, UIDs were not reused, the index agrees
// with the files, and every message reads back whole (issue 19).
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ImapFlow } from 'imapflow';
import { PROJECT_ROOT, startLabProcess, type LabProcess } from '../support/lab-process.js';

type Op =
  | { op: 'append'; subject: string; uid: number }
  | { op: 'flag'; uid: number }
  | { op: 'copy'; uid: number; dst: number }
  | { op: 'expunging'; uid: number }
  | { op: 'expunged'; uid: number }
  | { op: 'end'; error?: string };

const IMAP = { port: 0, maxSessionsPerUser: 20 };

function start(dataDir?: string): Promise<LabProcess> {
  return startLabProcess({ only: ['imap'], config: { services: { imap: IMAP } }, ...(dataDir ? { dataDir } : {}) });
}

function client(port: number): ImapFlow {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'alice-lab' }, logger: false });
  c.on('error', () => undefined);
  return c;
}

/** The same rounds as imaplib_worker.py, with imapflow. */
async function flowWorker(port: number, name: string, rounds: number, record: (op: Op) => void): Promise<void> {
  const c = client(port);
  try {
    await c.connect();
    await c.mailboxOpen('INBOX');
    const mine: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const subject = `${name}-${i}`;
      const r = await c.append('INBOX', `From: ${name}@lab.test\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);
      if (!r || !r.uid) throw new Error('APPEND without APPENDUID');
      record({ op: 'append', subject, uid: r.uid });
      mine.push(r.uid);
      if (i % 2 === 1) {
        const u = mine[mine.length - 2];
        if (!(await c.messageFlagsAdd(String(u), ['\\Flagged'], { uid: true }))) throw new Error('STORE failed');
        record({ op: 'flag', uid: u });
      }
      if (i % 3 === 2) {
        const u = mine[mine.length - 1];
        const cr = await c.messageCopy(String(u), 'Archive', { uid: true });
        const dst = cr && cr.uidMap ? cr.uidMap.get(u) : undefined;
        if (!dst) throw new Error('COPY without COPYUID');
        record({ op: 'copy', uid: u, dst });
      }
      if (i % 4 === 3) {
        const u = mine.shift()!;
        record({ op: 'expunging', uid: u });
        if (!(await c.messageDelete(String(u), { uid: true }))) throw new Error('EXPUNGE failed');
        record({ op: 'expunged', uid: u });
      }
      await c.noop();
    }
    await c.logout();
  } catch (err) {
    record({ op: 'end', error: String(err) });
  } finally {
    c.close();
  }
}

function pyWorker(port: number, name: string, rounds: number, record: (op: Op) => void): Promise<void> {
  return new Promise((resolve) => {
    const script = join(PROJECT_ROOT, 'test', 'imap', 'scripts', 'imaplib_worker.py');
    const p = spawn('python3', [script, '127.0.0.1', String(port), name, String(rounds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: p.stdout }).on('line', (line) => record(JSON.parse(line) as Op));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function filesIn(dataDir: string, folder: string): number {
  const dir = folder === 'INBOX' ? join(dataDir, 'mail', 'alice') : join(dataDir, 'mail', 'alice', `.${folder}`);
  let n = 0;
  for (const sub of ['new', 'cur']) if (existsSync(join(dir, sub))) n += readdirSync(join(dir, sub)).length;
  return n;
}

test('imapflow and imaplib write one mailbox concurrently; kill -9 in the middle; after a restart every acknowledged change is there', async (t) => {
  t.timeout(180_000);
  let lab = await start();
  const dataDir = lab.dataDir;
  try {
    const port = lab.port('imap');
    // Per worker, operations are sequential: an acknowledged operation's effect must survive.
    const ops = new Map<string, Op[]>();
    const acked = new Map<string, number>();
    let onAck: (() => void) | undefined;
    const recorder = (name: string) => (op: Op) => {
      const list = ops.get(name) ?? [];
      list.push(op);
      ops.set(name, list);
      if (op.op !== 'end' && op.op !== 'expunging') acked.set(name, (acked.get(name) ?? 0) + 1);
      onAck?.();
    };
    const workers = [
      flowWorker(port, 'flow1', 400, recorder('flow1')),
      flowWorker(port, 'flow2', 400, recorder('flow2')),
      pyWorker(port, 'py1', 400, recorder('py1')),
      pyWorker(port, 'py2', 400, recorder('py2')),
    ];
    // Kill once every writer had each kind of operation acknowledged (they are all still going).
    await new Promise<void>((resolve) => {
      onAck = () => {
        if (acked.size === 4 && [...acked.values()].every((n) => n >= 25)) resolve();
      };
    });
    await lab.kill();
    await Promise.all(workers);
    for (const [name, list] of ops) t.log(`${name}: ${list.length} records, last ${JSON.stringify(list[list.length - 1])}`);

    lab = await start(dataDir);
    const c = client(lab.port('imap'));
    await c.connect();
    const inbox = await c.mailboxOpen('INBOX');
    const present = new Map<number, { subject: string; flags: Set<string>; size: number; text: string }>();
    for await (const m of c.fetch('1:*', { uid: true, flags: true, envelope: true, source: true }, { uid: false })) {
      present.set(m.uid, { subject: m.envelope?.subject ?? '', flags: m.flags ?? new Set(), size: m.source?.length ?? 0, text: m.source?.toString() ?? '' });
    }
    t.is(present.size, inbox.exists);
    t.is(filesIn(dataDir, 'INBOX'), inbox.exists, 'the index lists exactly the files in the Maildir');
    const subjects = [...present.values()].map((p) => p.subject);
    t.is(new Set(subjects).size, subjects.length, 'no message appears twice');
    for (const p of present.values()) t.true(p.text.includes(`body of ${p.subject}`), `message ${p.subject} reads back whole`);

    let maxUid = 0;
    const archiveWanted = new Map<number, string>();
    for (const list of ops.values()) {
      const subjectOf = new Map<number, string>();
      const expunging = new Set<number>();
      const expunged = new Set<number>();
      const flagged = new Set<number>();
      for (const op of list) {
        if (op.op === 'append') {
          subjectOf.set(op.uid, op.subject);
          maxUid = Math.max(maxUid, op.uid);
        } else if (op.op === 'expunging') expunging.add(op.uid);
        else if (op.op === 'expunged') expunged.add(op.uid);
        else if (op.op === 'flag') flagged.add(op.uid);
        else if (op.op === 'copy') archiveWanted.set(op.dst, subjectOf.get(op.uid)!);
      }
      for (const [uid, subject] of subjectOf) {
        if (expunged.has(uid)) t.false(present.has(uid), `UID ${uid} (${subject}) was acknowledged as expunged`);
        else if (!expunging.has(uid)) {
          t.is(present.get(uid)?.subject, subject, `acknowledged APPEND of ${subject} kept UID ${uid}`);
          if (flagged.has(uid)) t.true(present.get(uid)?.flags.has('\\Flagged'), `acknowledged \\Flagged on UID ${uid}`);
        }
      }
    }
    t.true(archiveWanted.size > 0, 'some COPYs were acknowledged');
    const archive = await c.mailboxOpen('Archive');
    const inArchive = new Map<number, string>();
    for await (const m of c.fetch('1:*', { uid: true, envelope: true })) inArchive.set(m.uid, m.envelope?.subject ?? '');
    t.is(filesIn(dataDir, 'Archive'), archive.exists);
    for (const [dst, subject] of archiveWanted) t.is(inArchive.get(dst), subject, `acknowledged COPY to Archive UID ${dst}`);
    const archiveMax = Math.max(0, ...inArchive.keys(), ...archiveWanted.keys());

    // No UID is handed out twice: the next ones are above every UID ever acknowledged.
    const next = await c.append('INBOX', 'Subject: after\r\n\r\nafter the crash\r\n');
    t.true(next && next.uid! > maxUid, `new INBOX UID ${next && next.uid} > ${maxUid}`);
    t.is(next && next.uidValidity, inbox.uidValidity, 'UIDVALIDITY unchanged');
    const nextA = await c.append('Archive', 'Subject: after\r\n\r\nafter the crash\r\n');
    t.true(nextA && nextA.uid! > archiveMax, `new Archive UID ${nextA && nextA.uid} > ${archiveMax}`);
    await c.logout();
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
