// Which ports the printed handouts give: with no lab running on the data directory, the config's
// ports plus --port-offset (what `labnet start --port-offset N` will open); with a lab running there,
// the ports it has actually bound (asked from its /healthz through its watch file), whatever the
// config or --port-offset say; after that lab stopped (its watch file left behind), the config again.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startLabProcess, writeConfig } from '../support/lab-process.js';

function settingsOf(html: string): string[] {
  return [...html.matchAll(/<li>((?:IMAP|POP3|SMTP), port \d+, security [^<]+)<\/li>/g)].map((m) => m[1]);
}

test.serial('handouts print the configured ports plus --port-offset with no lab running, and the running lab bound ports when one runs', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-handout-ports-'));
  try {
    // 1. No lab: the packaged default ports (143, 993, 110, 995, 465, 587, HTTP 80) plus the offset.
    const config = writeConfig(dataDir, { dataDir, listen: '127.0.0.1' });
    const out1 = join(dataDir, 'out1');
    const r1 = await runCli(['users', 'add', 'kim', '--password', 'kim-handout-pw', '-c', config, '--handouts', out1, '--no-pdf', '--port-offset', '10000'], {
      timeoutMs: 60_000,
    });
    t.is(r1.code, 0, r1.stderr);
    t.regex(r1.stdout, /handouts: the ports of the config plus --port-offset 10000 \(no lab is running on /);
    const html1 = readFileSync(join(out1, 'handouts.html'), 'utf8');
    t.deepEqual(settingsOf(html1), [
      'IMAP, port 10993, security SSL/TLS (implicit TLS)',
      'IMAP, port 10143, security STARTTLS',
      'POP3, port 10995, security SSL/TLS (implicit TLS)',
      'POP3, port 10110, security STARTTLS',
      'SMTP, port 10465, security SSL/TLS (implicit TLS)',
      'SMTP, port 10587, security STARTTLS',
    ]);
    t.true(html1.includes('http://labnet.lab.test:10080/setup/kim'));

    // 2. A lab runs on this data directory (every port 0: the kernel picks them).
    const lab = await startLabProcess({ dataDir, only: ['http', 'smtp', 'imap', 'pop3'], timeoutMs: 60_000 });
    try {
      const out2 = join(dataDir, 'out2');
      const r2 = await runCli(
        ['users', 'add', 'lee', '--password', 'lee-handout-pw', '-c', lab.configPath, '--handouts', out2, '--no-pdf', '--port-offset', '7'],
        { timeoutMs: 60_000 },
      );
      t.is(r2.code, 0, r2.stderr);
      t.regex(r2.stdout, new RegExp(`handouts: the ports of the lab running on .* \\(pid ${lab.proc.pid}\\)`));
      t.regex(r2.stderr, /--port-offset 7 ignored: the running lab's own ports are printed/);
      const html2 = readFileSync(join(out2, 'handouts.html'), 'utf8');
      t.deepEqual(settingsOf(html2), [
        `IMAP, port ${lab.port('imap', 'imaps')}, security SSL/TLS (implicit TLS)`,
        `IMAP, port ${lab.port('imap', 'imap')}, security STARTTLS`,
        `POP3, port ${lab.port('pop3', 'pop3s')}, security SSL/TLS (implicit TLS)`,
        `POP3, port ${lab.port('pop3', 'pop3')}, security STARTTLS`,
        `SMTP, port ${lab.port('smtp', 'smtps')}, security SSL/TLS (implicit TLS)`,
        `SMTP, port ${lab.port('smtp', 'submission')}, security STARTTLS`,
      ]);
      t.true(html2.includes(`http://labnet.lab.test:${lab.port('http', 'http')}/setup/lee`));
    } finally {
      await lab.stop();
    }

    // 3. The lab stopped (its watch file names a process that is gone): the config's ports again (all 0
    // in this config, so no mail service is listed), and it says why.
    const out3 = join(dataDir, 'out3');
    const r3 = await runCli(['users', 'add', 'max', '--password', 'max-handout-pw', '-c', lab.configPath, '--handouts', out3, '--no-pdf'], {
      timeoutMs: 60_000,
    });
    t.is(r3.code, 0, r3.stderr);
    t.regex(r3.stdout, /handouts: the ports of the config \(no lab is running on /);
    t.deepEqual(settingsOf(readFileSync(join(out3, 'handouts.html'), 'utf8')), []);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
