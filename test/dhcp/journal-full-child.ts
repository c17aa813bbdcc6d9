// Run by lease-journal.test.ts inside a small tmpfs (small-disk.ts):
//   node build/test/dhcp/journal-full-child.js DIR
// Drives a LeaseJournal on DIR while the file system fills up and prints one JSON line of what
// happened, for the test to check: which appends resolved, what the file holds, whether it recovers.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseJournal, decodeRecord, type LeaseRecord } from '../../services/dhcp/lease-journal.js';
import { ipToInt } from '../../services/dhcp/ipv4.js';

function rec(i: number): LeaseRecord {
  return {
    ip: ipToInt('10.0.0.0') + i,
    client: `id:01${i.toString(16).padStart(12, '0')}`,
    mac: '02:00:00:00:00:01',
    state: 'bound',
    expires: 1e12 + i,
    hostname: `student-${i}`,
  };
}

function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 0x78);
  try {
    for (let i = 0; i < 1_000_000; i++) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const errors: string[] = [];
  const journal = new LeaseJournal(
    join(dir, 'dhcp', 'leases.journal'),
    () => false,
    () => [],
    (e) => errors.push((e as NodeJS.ErrnoException).code ?? String(e)),
  );
  journal.load();
  await journal.open();
  await Promise.all([1, 2, 3].map((i) => journal.append(rec(i))));
  fill(join(dir, 'filler'));
  const sizeBefore = statSync(journal.path).size;
  // One group commit of 60 records (about 6 KB), more than the free part of the file's last page:
  // write(2) stores part of it and returns a short count.
  const batch = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => journal.append(rec(100 + i))));
  const sizeAfterBatch = statSync(journal.path).size;
  // Then one record at a time until the page is full.
  const singles: number[] = [];
  for (let i = 0; i < 100; i++) {
    try {
      await journal.append(rec(200 + i));
      singles.push(200 + i);
    } catch {
      break;
    }
  }
  const sizeFull = statSync(journal.path).size;
  rmSync(join(dir, 'filler'));
  let recovered = false;
  try {
    await journal.append(rec(999));
    recovered = true;
  } catch {
    /* reported below */
  }
  await journal.close();
  const lines = readFileSync(journal.path, 'utf8').split('\n').filter(Boolean);
  const records = lines.map((l) => decodeRecord(l));
  process.stdout.write(
    `${JSON.stringify({
      batchFulfilled: batch.filter((r) => r.status === 'fulfilled').length,
      batchRejected: batch.filter((r) => r.status === 'rejected').length,
      sizeBefore,
      sizeAfterBatch,
      sizeFull,
      singles,
      recovered,
      unreadable: records.filter((r) => r === undefined).length,
      onDisk: records.map((r) => (r ? r.ip - ipToInt('10.0.0.0') : -1)),
      errors: [...new Set(errors)],
      failures: journal.failures,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`journal-full-child: ${String(err)}\n`);
  process.exit(1);
});
