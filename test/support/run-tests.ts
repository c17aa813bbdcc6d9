// `make test` / `npm test`: runs ava in TAP mode on the compiled tests, passes its output through and
// ends with the one line CI reads: "N passed, N failed". ava is a child process here, so its own exit
// status is known (a crash, a timeout or a missing test file counts as a failure) and the summary is
// printed even when ava dies. Exits non-zero on any failure. Arguments are passed on to ava.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TapCounter } from './tap-count.js';

const counter = new TapCounter();
const ava = spawn('npx', ['ava', '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
const rl = createInterface({ input: ava.stdout });
rl.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  counter.line(line);
});
const forward = (sig: NodeJS.Signals): void => {
  ava.kill(sig);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
let exitCode: number | null | undefined;
let outputDone = false;
const finish = (): void => {
  if (exitCode === undefined || !outputDone) return;
  const r = counter.finish(exitCode);
  if (r.failures.length) process.stdout.write(`\nFailed:\n${r.failures.map((f) => `  - ${f}`).join('\n')}\n`);
  process.stdout.write(`\n${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}\n`);
  process.exit(r.failed > 0 ? 1 : 0);
};
ava.on('exit', (code) => {
  exitCode = code;
  finish();
});
rl.on('close', () => {
  outputDone = true;
  finish();
});
