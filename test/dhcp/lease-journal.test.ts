// The lease journal: replay, torn tails, compaction, and group commit (concurrent ACKs share a sync).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseJournal, decodeRecord, encodeRecord, type LeaseRecord } from '../../services/dhcp/lease-journal.js';
import { ipToInt } from '../../services/dhcp/ipv4.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { isRoot } from './netns-fixture.js';
import { SmallDisk } from './small-disk.js';

function rec(i: number, state: LeaseRecord['state'] = 'bound'): LeaseRecord {
  return { ip: ipToInt('10.0.0.0') + i, client: `id:01${i}`, mac: '02:00:00:00:00:01', state, expires: 1e12 + i, ...(i % 2 ? { hostname: `pc${i}` } : {}) };
}

function journal(dir: string, compactAbove = Infinity, snapshot: () => Iterable<LeaseRecord> = () => []): LeaseJournal {
  return new LeaseJournal(
    join(dir, 'dhcp', 'leases.journal'),
    (n) => n > compactAbove,
    snapshot,
    () => {},
  );
}

test('records round-trip through their text form', (t) => {
  for (const state of ['bound', 'released', 'declined'] as const) t.deepEqual(decodeRecord(encodeRecord(rec(3, state)).trim()), rec(3, state));
  t.is(decodeRecord('{"ip":"x"}'), undefined);
  t.is(decodeRecord('not json'), undefined);
});

test('concurrent appends share one fdatasync and all survive a reopen; a torn tail is cut', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-journal-'));
  try {
    const j = journal(dir);
    t.deepEqual(j.load().records, []);
    await j.open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => j.append(rec(i))));
    t.is(j.written, 50);
    t.true(j.syncs < 5, `50 concurrent appends took ${j.syncs} syncs`);
    await j.close();
    // kill -9 in the middle of a write.
    appendFileSync(j.path, '{"ip":"10.0.0.99","c":"x"');
    const again = journal(dir);
    const loaded = again.load();
    t.is(loaded.records.length, 50);
    t.deepEqual(loaded.records[7], rec(7));
    t.true(readFileSync(j.path, 'utf8').endsWith('}\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compaction rewrites the journal from the snapshot and appends go on after it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-journal-'));
  try {
    const live = [rec(1), rec(2, 'released')];
    const j = journal(dir, 20, () => live);
    j.load();
    await j.open();
    for (let i = 0; i < 30; i++) await j.append(rec(1));
    t.true(j.records <= 20, `journal has ${j.records} records`);
    await j.append(rec(5));
    await j.close();
    const loaded = journal(dir).load().records;
    t.deepEqual(loaded.at(-1), rec(5));
    t.true(loaded.some((r) => r.state === 'released'));
    t.true(loaded.length < 25);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on a full disk (tmpfs in a private mount namespace): a short write is never acknowledged, the file is cut back, appends recover', async (t) => {
  if (!isRoot()) return t.pass('needs root (mount namespace)');
  const dir = mkdtempSync(join(tmpdir(), 'labnet-journal-full-'));
  const disk = await SmallDisk.create(join(dir, 'fs'), '32k');
  try {
    const child = join(PROJECT_ROOT, 'build', 'test', 'dhcp', 'journal-full-child.js');
    const r = spawnSync(disk.wrap()[0], [...disk.wrap().slice(1), process.execPath, child, disk.mountpoint], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout) as {
      batchFulfilled: number;
      batchRejected: number;
      sizeBefore: number;
      sizeAfterBatch: number;
      sizeFull: number;
      singles: number[];
      recovered: boolean;
      unreadable: number;
      onDisk: number[];
      errors: string[];
      failures: number;
    };
    t.is(o.batchFulfilled, 0, 'no append of the batch that did not fit resolves');
    t.is(o.batchRejected, 60);
    t.is(o.sizeAfterBatch, o.sizeBefore, 'the part of the batch that was written is cut off again');
    t.true(o.singles.length > 0, 'single records still fill the rest of the page');
    t.true(o.sizeFull > o.sizeBefore);
    t.true(o.recovered, 'appends work again once space is free');
    t.deepEqual(o.errors, ['ENOSPC']);
    t.true(o.failures >= 2);
    t.is(o.unreadable, 0, 'no torn or glued line anywhere in the file');
    t.deepEqual(o.onDisk, [1, 2, 3, ...o.singles, 999], 'exactly the acknowledged records, in order');
  } finally {
    disk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
