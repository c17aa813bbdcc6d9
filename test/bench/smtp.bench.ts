// `make bench BENCH=smtp`: Postfix's smtp-source (-s 20 -m 2000 -l 4096) against, in the same run:
//   labnet      the real `labnet start` process, SMTP on loopback, durable Maildir delivery
//   postfix     a private Postfix instance (config, queue and Maildir in a temp dir) delivering into
//               Maildir through its virtual(8) agent
//   smtp-server a minimal nodemailer smtp-server sink that writes and fsyncs each message before 250
//   smtp-sink   Postfix's smtp-sink: stores nothing (the protocol-only ceiling)
// Rounds are interleaved (one run of each peer per round); medians of N rounds and ratios printed.
// Options: --runs N (default 3), --messages M (default 2000), --sessions S (default 20), --size L (4096),
// --lab on (HTTP runs in the labnet process too, so the live lab records the SMTP sessions; off without it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, startLabProcess } from '../support/lab-process.js';
import { arg, freePort, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '3'));
const MESSAGES = Number(arg('messages', '2000'));
const SESSIONS = Number(arg('sessions', '20'));
const SIZE = Number(arg('size', '4096'));
const LAB_ON = arg('lab', 'off') === 'on';
const SMTP_SOURCE = '/usr/sbin/smtp-source';
const SMTP_SINK = '/usr/sbin/smtp-sink';

/** Waits until something on `port` sends an SMTP greeting. */
async function waitForGreeting(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      const t = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 2000);
      s.once('data', (d: Buffer) => {
        clearTimeout(t);
        s.end('QUIT\r\n');
        resolve(d.toString().startsWith('220'));
      });
      s.once('error', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no SMTP greeting on port ${port}`);
}

/** One smtp-source run; resolves with accepted messages per second (wall clock of the whole run). */
function smtpSource(port: number, messages = MESSAGES): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(
      SMTP_SOURCE,
      ['-s', String(SESSIONS), '-m', String(messages), '-l', String(SIZE), '-f', 'bench@lab.test', '-t', 'alice@lab.test', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`smtp-source exited ${code}: ${out.slice(0, 2000)}`));
      else resolve(messages / seconds);
    });
  });
}

function countFiles(dir: string): number {
  let n = 0;
  for (const sub of ['new', 'cur']) if (existsSync(join(dir, sub))) n += readdirSync(join(dir, sub)).length;
  return n;
}

interface Peer {
  name: string;
  port: number;
  /** Checks after a run (e.g. every accepted message is in the Maildir); returns a note. */
  verify?: (expectedTotal: number) => Promise<string>;
  stop(): Promise<void>;
}

async function startLabnetPeer(): Promise<Peer> {
  const lab = await startLabProcess({
    only: LAB_ON ? ['smtp', 'http'] : ['smtp'],
    config: { services: { smtp: { port: 0, submissionPort: 0 } } },
    timeoutMs: 30_000,
  });
  const inbox = join(lab.dataDir, 'mail', 'alice');
  return {
    name: 'labnet',
    port: lab.port('smtp'),
    async verify(expected) {
      // labnet answers 250 only after the file and new/ are fsynced: the count must already match.
      const n = countFiles(inbox);
      if (n !== expected) throw new Error(`labnet: ${n} messages in the Maildir, expected ${expected}`);
      return `${n} in Maildir at once`;
    },
    async stop() {
      await lab.stop();
      lab.cleanup();
    },
  };
}

function postfixCmd(configDir: string, action: string): void {
  // postfix logs its errors to syslog only unless stdout is a terminal: run it under script(1).
  const r = spawnSync('script', ['-qc', `postfix -c ${configDir} ${action}`, '/dev/null'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postfix ${action} failed: ${r.stdout}${r.stderr}`);
}

async function startPostfixPeer(): Promise<Peer | undefined> {
  if (process.getuid?.() !== 0) {
    console.log('   postfix: skipped (needs root to start a private instance)');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'labnet-bench-postfix-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const etc = join(dir, 'etc');
  const vmail = join(dir, 'vmail');
  for (const d of [etc, join(dir, 'queue'), join(dir, 'data'), vmail]) mkdirSync(d);
  const pf = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
  chownSync(join(dir, 'data'), Number(pf.stdout.trim()), 0);
  chownSync(vmail, 65534, 65534);
  writeFileSync(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'myhostname = bench.lab.test',
      'mydomain = lab.test',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      // Every recipient of lab.test lands in vmail/alice/ (trailing slash: Maildir).
      'virtual_mailbox_domains = lab.test',
      `virtual_mailbox_base = ${vmail}`,
      'virtual_mailbox_maps = static:alice/',
      'virtual_uid_maps = static:65534',
      'virtual_gid_maps = static:65534',
      'alias_maps =',
      'alias_database =',
      `maillog_file = ${dir}/maillog`,
      `maillog_file_prefixes = ${dir}`,
      'biff = no',
      'smtpd_client_connection_count_limit = 0',
      'smtpd_client_connection_rate_limit = 0',
      '',
    ].join('\n'),
  );
  // The packaged master.cf, with smtpd on our loopback port and no chroot.
  const master = readFileSync('/etc/postfix/master.cf', 'utf8')
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || /^\s/.test(line) || line.trim() === '') return line;
      const f = line.trim().split(/\s+/);
      if (f.length < 8) return line;
      if (f[0] === 'smtp' && f[1] === 'inet') f[0] = `127.0.0.1:${port}`;
      if (f[4] === 'y' || f[4] === '-') f[4] = 'n';
      return f.join('  ');
    });
  if (!master.some((l) => l.startsWith('postlog'))) master.push('postlog   unix-dgram n  -       n       -       1       postlogd');
  writeFileSync(join(etc, 'master.cf'), `${master.join('\n')}\n`);
  postfixCmd(etc, 'start');
  try {
    await waitForGreeting(port);
  } catch (err) {
    try {
      postfixCmd(etc, 'stop');
    } catch {
      // already down
    }
    console.log(
      `   postfix: could not start (${(err as Error).message}); log:\n${existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8').slice(-2000) : ''}`,
    );
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const inbox = join(vmail, 'alice');
  return {
    name: 'postfix',
    port,
    async verify(expected) {
      // Postfix's 250 means "safely in my queue"; the virtual agent writes the Maildir afterwards.
      const t0 = performance.now();
      while (countFiles(inbox) < expected && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 50));
      const n = countFiles(inbox);
      return `${n} in Maildir after ${((performance.now() - t0) / 1000).toFixed(1)} s more`;
    },
    async stop() {
      postfixCmd(etc, 'stop');
      await new Promise((r) => setTimeout(r, 500));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// nodemailer's smtp-server as a sink that stores each message durably (write + fsync) before 250.
const SMTP_SERVER_SINK = `
const { SMTPServer } = require('smtp-server');
const fs = require('node:fs');
const path = require('node:path');
const [port, dir] = process.argv.slice(1);
let n = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 50 * 1024 * 1024,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', async () => {
      try {
        const fh = await fs.promises.open(path.join(dir, 'msg-' + process.pid + '-' + (++n)), 'wx');
        await fh.writeFile(Buffer.concat(chunks));
        await fh.datasync();
        await fh.close();
        callback();
      } catch (err) { callback(err); }
    });
  },
});
server.listen(Number(port), '127.0.0.1');
`;

function child(cmd: string, args: string[], cwd?: string): ChildProcess {
  const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr.on('data', (d: Buffer) => process.stderr.write(`   [${cmd}] ${d.toString()}`));
  return p;
}

async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

async function startSmtpServerPeer(): Promise<Peer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'labnet-bench-smtp-server-'));
  const p = child(process.execPath, ['-e', SMTP_SERVER_SINK, String(port), dir], PROJECT_ROOT);
  await waitForGreeting(port);
  return {
    name: 'smtp-server',
    port,
    async verify(expected) {
      const n = readdirSync(dir).length;
      if (n !== expected) throw new Error(`smtp-server sink: ${n} files, expected ${expected}`);
      return `${n} files`;
    },
    async stop() {
      await stopChild(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startSmtpSinkPeer(): Promise<Peer> {
  const port = await freePort();
  // As root smtp-sink wants a user to drop privileges to.
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const p = child(SMTP_SINK, [...user, '-c', `127.0.0.1:${port}`, '1000']);
  await waitForGreeting(port);
  return { name: 'smtp-sink', port, stop: () => stopChild(p) };
}

async function main(): Promise<void> {
  if (!existsSync(SMTP_SOURCE)) {
    console.log('smtp bench: /usr/sbin/smtp-source missing (Debian package postfix); skipped');
    return;
  }
  console.log(`smtp bench: smtp-source -s ${SESSIONS} -m ${MESSAGES} -l ${SIZE}, ${RUNS} interleaved rounds, medians, lab ${LAB_ON ? 'on' : 'off'}`);
  const peers: Peer[] = [];
  try {
    peers.push(await startLabnetPeer());
    const postfix = await startPostfixPeer();
    if (postfix) peers.push(postfix);
    peers.push(await startSmtpServerPeer());
    if (existsSync(SMTP_SINK)) peers.push(await startSmtpSinkPeer());
    const results = new Map<string, number[]>(peers.map((p) => [p.name, []]));
    const totals = new Map<string, number>(peers.map((p) => [p.name, 0]));
    // Warm-up (not measured): JIT, page cache, Postfix's daemons.
    for (const p of peers) {
      await smtpSource(p.port, 200);
      totals.set(p.name, 200);
      if (p.verify) await p.verify(200);
    }
    for (let round = 1; round <= RUNS; round++) {
      for (const p of peers) {
        const rate = await smtpSource(p.port);
        totals.set(p.name, totals.get(p.name)! + MESSAGES);
        const note = p.verify ? await p.verify(totals.get(p.name)!) : 'stores nothing';
        results.get(p.name)!.push(rate);
        console.log(`   round ${round}  ${p.name.padEnd(12)} ${rate.toFixed(0).padStart(6)} msg/s  (${note})`);
      }
    }
    const med = new Map([...results].map(([k, v]) => [k, median(v)]));
    const lab = med.get('labnet')!;
    console.log('\n   peer          median msg/s   labnet / peer');
    for (const [name, m] of med)
      console.log(`   ${name.padEnd(12)} ${m.toFixed(0).padStart(8)}        ${name === 'labnet' ? '-' : `${(lab / m).toFixed(2)}x`}`);
    const pf = med.get('postfix');
    if (pf) {
      // The machine is shared: the ratio within each round (both measured back to back) is steadier.
      const perRound = results.get('labnet')!.map((l, i) => l / results.get('postfix')![i]);
      console.log(`\n   labnet / postfix per round: ${perRound.map((r) => `${r.toFixed(2)}x`).join(' ')} (median ${median(perRound).toFixed(2)}x)`);
      console.log(`   target labnet >= 1.0x Postfix-to-Maildir: ${(lab / pf).toFixed(2)}x ${lab >= pf ? 'MET' : 'NOT MET'}`);
    }
  } finally {
    for (const p of peers.reverse()) {
      try {
        await p.stop();
      } catch (err) {
        console.error(`   stopping ${p.name}: ${(err as Error).message}`);
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
