// Reads ava's TAP output on stdin, passes it through, and ends with the one line CI reads:
// "N passed, N failed". Exits non-zero on any failure, on a crashed runner, or when nothing ran.
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let skipped = 0;
let trailerPass: number | undefined;
let trailerFail: number | undefined;
const failures: string[] = [];
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const trailer = /^# (pass|fail) (\d+)$/.exec(line);
  if (trailer) {
    // ava's own totals also count tests that never ran because a hook failed.
    if (trailer[1] === 'pass') trailerPass = Number(trailer[2]);
    else trailerFail = Number(trailer[2]);
    return;
  }
  const m = /^(not ok|ok)\s+\d+\s*-?\s*(.*)$/.exec(line);
  if (!m) return;
  if (/#\s*(SKIP|TODO)/i.test(line)) skipped++;
  else if (m[1] === 'ok') passed++;
  else {
    failed++;
    failures.push(m[2] ?? '');
  }
});
rl.on('close', () => {
  const runnerCode = Number(process.argv[2] ?? '0');
  if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  if (trailerFail !== undefined && trailerFail > failed) failed = trailerFail;
  if (trailerPass !== undefined && trailerPass !== passed) passed = Math.min(passed, trailerPass);
  if (runnerCode !== 0 && failed === 0) failed = 1; // the runner itself failed (crash, timeout, no files)
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
});
