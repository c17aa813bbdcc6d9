// Issue 14: a file system that fills up during delivery (three targets per message), APPEND and COPY.
// Every acknowledged item survives a restart byte for byte with its UID and flags, nothing that was
// refused appears anywhere, tmp/ is left empty, and UIDs are never reused. The file system is a small
// tmpfs mounted in a private mount namespace (unshare -m), so nothing outside this test sees it; one
// run limits octets (size=), one the number of files (nr_inodes=), where creating a file or a link
// fails instead of a write.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckResult, FillResult } from './fixtures/full-disk-worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const worker = join(here, 'fixtures', 'full-disk-worker.js');
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
const mountTest = canMount ? test.serial : test.skip;

function runOnSmallFs(options: string, seed: number, mustFail: readonly string[]): { fill: FillResult; check: CheckResult } {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-store-full-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const fillOut = join(dir, 'fill.json');
  const checkOut = join(dir, 'check.json');
  try {
    const script = 'mount -t tmpfs -o "$1" labnet-test "$2" && "$3" "$4" fill "$2/mail" "$5" "$7" "$8" && "$3" "$4" check "$2/mail" "$6"';
    const args = [options, mnt, process.execPath, worker, fillOut, checkOut, String(seed), mustFail.join(',')];
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    if (r.status !== 0) throw new Error(`the workers failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
    return { fill: JSON.parse(readFileSync(fillOut, 'utf8')) as FillResult, check: JSON.parse(readFileSync(checkOut, 'utf8')) as CheckResult };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function verify(t: import('ava').ExecutionContext, { fill, check }: { fill: FillResult; check: CheckResult }, mustFail: readonly string[]): void {
  t.log(
    `acknowledged: ${fill.delivered.length} deliveries x3, ${fill.appended.length} appends, ${fill.copied.length} copies; refused: ${JSON.stringify(fill.failures)}`,
  );
  t.deepEqual(fill.unexpected, [], 'every failure is NO_SPACE (or a COPY of a message expunged meanwhile)');
  for (const op of mustFail) t.true((fill.failures[op]?.NO_SPACE ?? 0) >= 5, `${op} ran into the full disk`);
  t.true(fill.copied.length > 0);
  t.deepEqual(fill.tmpLeftovers, [], 'failed writes leave nothing in tmp/');
  t.deepEqual(check.tmpLeftovers, []);
  t.deepEqual(check.errors, []);
  const folder = (name: string): CheckResult['folders'][string] => check.folders[name];
  for (const [name, f] of Object.entries(check.folders)) {
    t.is(f.uidValidity, fill.uidValidity[name], `${name}: UIDVALIDITY unchanged`);
    t.true(f.uidNext > fill.maxUid[name], `${name}: UIDNEXT above every UID handed out`);
    const uids = f.messages.map((m) => m.uid);
    t.true(
      uids.every((u, i) => i === 0 || u > uids[i - 1]),
      `${name}: UIDs strictly increasing`,
    );
    t.deepEqual(
      f.messages.filter((m) => !m.intact).map((m) => m.tag),
      [],
      `${name}: every message complete, byte for byte`,
    );
  }
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort();
  const expunged = new Set(fill.expunged);
  const appended = fill.appended.filter((a) => !expunged.has(a.tag));
  // Deliveries: all three copies or none.
  t.deepEqual(sorted(folder('bob/INBOX').messages.map((m) => m.tag)), sorted(fill.delivered));
  t.deepEqual(sorted(folder('alice/INBOX').messages.map((m) => m.tag)), sorted([...fill.delivered, ...appended.map((a) => a.tag)]));
  t.deepEqual(sorted(folder('alice/Archive').messages.map((m) => m.tag)), sorted([...fill.delivered, ...fill.copied.map((c) => c.tag)]));
  const inbox = new Map(folder('alice/INBOX').messages.map((m) => [m.tag, m]));
  for (const a of appended) {
    const m = inbox.get(a.tag);
    t.is(m?.uid, a.uid, `APPEND ${a.tag} keeps its UID`);
    t.deepEqual(sorted(m?.flags ?? []), sorted(a.flags), `APPEND ${a.tag} keeps its flags`);
  }
  const archive = new Map(folder('alice/Archive').messages.map((m) => [m.uid, m.tag]));
  for (const c of fill.copied) t.is(archive.get(c.dst), c.tag, `COPY of ${c.tag} keeps UID ${c.dst}`);
  t.true(check.newUid >= fill.maxUid['alice/INBOX'] + 1 && check.newUid > Math.max(0, ...folder('alice/INBOX').messages.map((m) => m.uid)));
  t.true(check.newUidNext > check.newUid);
}

mountTest('a disk that fills up during deliveries, APPEND and COPY: acknowledged is durable and intact, refused is nowhere (tmpfs size=3m)', (t) => {
  // A COPY is a hard link: it needs no data blocks, so on a full disk it still succeeds (and must).
  const mustFail = ['deliver', 'append'];
  const r = runOnSmallFs('size=3m', 1, mustFail);
  verify(t, r, mustFail);
});

mountTest('the same when the file system runs out of files instead of octets (tmpfs nr_inodes=300)', (t) => {
  const mustFail = ['deliver', 'append', 'copy'];
  const r = runOnSmallFs('size=256m,nr_inodes=300', 2, mustFail);
  verify(t, r, mustFail);
});
