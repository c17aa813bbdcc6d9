// `labnet watch` against the real `labnet start` process: it finds the lab through the data
// directory, prints live transcripts with notes, filters by service and by user (lines before the
// login are held until the login shows whose session it is), and shows control characters a client
// sent as visible text instead of passing escape sequences to the instructor's terminal.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, startLabProcess, type LabProcess } from '../support/lab-process.js';
import { LineClient } from '../support/line-client.js';

let lab: LabProcess;
const children: ChildProcess[] = [];

test.before(async () => {
  lab = await startLabProcess({
    config: {
      users: [{ name: 'alice', password: 'alice-pw' }],
      services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
    },
    only: ['http', 'smtp'],
  });
  const file = join(lab.dataDir, 'lab', 'watch.json');
  const deadline = Date.now() + 10_000;
  while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
});

test.after.always(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await lab?.stop();
  lab?.cleanup();
});

function watch(args: string[]): { out: () => string; wait: (re: RegExp, timeoutMs?: number) => Promise<void>; stop: () => Promise<number | null> } {
  const proc = spawn(process.execPath, [CLI, 'watch', '--data-dir', lab.dataDir, '--no-color', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  return {
    out: () => out,
    // A bound, not a timing: three CLI processes start at once, slowly on a loaded machine.
    async wait(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`labnet watch never printed ${re}; it printed:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      proc.kill('SIGINT');
      return exited;
    },
  };
}

async function say(c: LineClient, line: string): Promise<void> {
  c.write(`${line}\r\n`);
  for (;;) {
    const l = await c.line();
    if (l === null || /^\d{3} /.test(l)) return;
  }
}

test.serial('labnet watch follows the transcripts with notes, filtered, with control characters made visible', async (t) => {
  const all = watch(['--service', 'smtp']);
  const mine = watch(['--user', 'alice', '--no-notes']);
  const web = watch(['--service', 'http']);
  await all.wait(/watching labnet\.lab\.test/);
  await mine.wait(/watching/);
  await web.wait(/watching/);
  const anon = await LineClient.connect(lab.port('smtp'));
  await anon.line();
  await say(anon, 'EHLO \u001b[31mred\u001b]0;title\u0007');
  await say(anon, 'QUIT');
  const alice = await LineClient.connect(lab.port('smtp'));
  await alice.line();
  await say(alice, 'EHLO alice-pc');
  await say(alice, `AUTH PLAIN ${Buffer.from('\0alice\0alice-pw').toString('base64')}`);
  await say(alice, 'NOOP from alice');
  await say(alice, 'QUIT');
  await all.wait(/C: NOOP from alice/);
  const out = all.out();
  t.regex(out, /smtp-\d+ -@127\.0\.0\.1:\d+ C: EHLO \^\[\[31mred\^\[\]0;title\^G/);
  t.false(out.includes('\u001b'), 'no escape character reaches the terminal');
  t.regex(out, /S: 220 labnet\.lab\.test ESMTP/);
  t.regex(out, /# The greeting: the SMTP server is ready/);
  t.regex(out, /-- logged in as alice \(PLAIN\)/);
  t.false(out.includes('alice-pw'));
  // --user alice: her session only, including the lines from before her login.
  await mine.wait(/C: NOOP from alice/);
  const m = mine.out();
  t.regex(m, /alice@127\.0\.0\.1:\d+ C: EHLO alice-pc/);
  t.false(m.includes('[31m'), 'the anonymous session is not alice’s');
  t.false(m.includes('# '), '--no-notes');
  // --service http: nothing from SMTP.
  t.false(web.out().includes('EHLO'));
  for (const w of [all, mine, web]) t.is(await w.stop(), 0);
});

test.serial('labnet watch says plainly when no lab runs in the data directory', async (t) => {
  const proc = spawn(process.execPath, [CLI, 'watch', '--data-dir', join(lab.dataDir, 'nowhere')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => proc.once('close', r));
  t.is(code, 2);
  t.regex(err, /no running lab found/);
});
