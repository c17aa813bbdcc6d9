// Real clients nobody here wrote, against the real `labnet start` process: curl (pop3://), Python's
// poplib and fetchmail. Messages are compared byte for byte with what was put into the store.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { message, preDeliver } from './helpers.js';

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(cmd: string, args: string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...(options.env ?? {}) }, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    if (p.stdin) {
      // A child that exits without reading its input must not become an EPIPE in this process.
      p.stdin.on('error', () => {});
      p.stdin.end(options.input);
    }
  });
}

/** Messages with the awkward parts: dot lines, a dot-only line, UTF-8, long lines, no final CRLF, a big one. */
function corpus(): Buffer[] {
  return [
    message('plain', 'Hello Alice,\r\nsee you at the lab.\r\n'),
    message('dots', '.leading dot\r\n..two\r\n.\r\n. space\r\nend\r\n'),
    `From: bob@lab.test\r\nTo: alice@lab.test\r\nSubject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus dem Labor ✉\r\n${'x'.repeat(900)}\r\n`,
    message('big', `${'.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n'.repeat(6000)}`),
  ].map((m) => Buffer.from(m, 'utf8'));
}

async function labWith(messages: readonly Buffer[]): Promise<LabProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-pop3-clients-'));
  await preDeliver(
    dataDir,
    messages.map((data) => ({ user: 'alice', data })),
  );
  // startLabProcess does not zero service ports by itself: ask for a free one.
  return startLabProcess({ dataDir, only: ['pop3'], config: { services: { pop3: { port: 0, pop3sPort: 0 } } } });
}

const curlBase = (lab: LabProcess) => `pop3://127.0.0.1:${lab.port('pop3')}/`;

test('curl: LIST, RETR byte for byte, DELE via -X, APOP login, wrong password', async (t) => {
  const msgs = corpus();
  const lab = await labWith(msgs);
  try {
    const list = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', curlBase(lab)]);
    t.is(list.code, 0, list.stderr);
    t.is(list.stdout.toString(), msgs.map((m, i) => `${i + 1} ${m.length}\r\n`).join(''));
    for (let i = 0; i < msgs.length; i++) {
      const retr = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', `${curlBase(lab)}${i + 1}`]);
      t.is(retr.code, 0, retr.stderr);
      t.true(retr.stdout.equals(msgs[i]), `message ${i + 1} differs`);
    }
    const apop = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', '--login-options', 'AUTH=+APOP', `${curlBase(lab)}1`]);
    t.is(apop.code, 0, apop.stderr);
    t.true(apop.stdout.equals(msgs[0]));
    const bad = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:wrong', curlBase(lab)]);
    t.is(bad.code, 67, 'curl reports "login denied"');
    const dele = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', '-X', 'DELE', '-I', `${curlBase(lab)}2`]);
    t.is(dele.code, 0, dele.stderr);
    const after = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', curlBase(lab)]);
    t.is(after.stdout.toString(), [0, 2, 3].map((i, n) => `${n + 1} ${msgs[i].length}\r\n`).join(''));
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

const POPLIB = String.raw`
import base64, json, poplib, socket, sys
args = json.load(sys.stdin)
port = args['port']
out = {}
def connect():
    return poplib.POP3('127.0.0.1', port, timeout=20)

# wrong password, then the right one, on one connection
p = connect()
out['welcome'] = p.getwelcome().decode()
p.user('alice')
try:
    p.pass_('wrong')
    out['wrong'] = 'accepted'
except poplib.error_proto as e:
    out['wrong'] = e.args[0].decode()
p.user('alice')
out['login'] = p.pass_('alice-lab').decode()

# the lock: a second session for alice is refused
q = connect()
q.user('alice')
try:
    q.pass_('alice-lab')
    out['second'] = 'accepted'
except poplib.error_proto as e:
    out['second'] = e.args[0].decode()
q.quit()

out['stat'] = list(p.stat())
resp, lines, octets = p.list()
out['list'] = [l.decode() for l in lines]
resp, lines, octets = p.uidl()
out['uidl'] = [l.decode() for l in lines]
resp, lines, octets = p.top(2, 1)
out['top'] = base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode()
out['retr'] = []
for i in range(1, len(out['list']) + 1):
    resp, lines, octets = p.retr(i)
    out['retr'].append(base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode())
out['bad'] = []
for cmd in (lambda: p.retr(99), lambda: p.list(0), lambda: p.dele('x'), lambda: p.top(1, -1)):
    try:
        cmd()
        out['bad'].append('accepted')
    except poplib.error_proto as e:
        out['bad'].append(e.args[0].decode())
p.dele(1)
p.dele(2)
out['stat_after_dele'] = list(p.stat())
p.rset()
out['stat_after_rset'] = list(p.stat())
p.dele(1)
out['quit'] = p.quit().decode()

# DELE then a dropped connection: nothing is removed
p = connect()
p.user('alice'); p.pass_('alice-lab')
out['stat_next'] = list(p.stat())
p.dele(1)
p.sock.shutdown(socket.SHUT_RDWR)
p.sock.close()
json.dump(out, sys.stdout)
`;

async function poplibRun(lab: LabProcess): Promise<Record<string, unknown>> {
  const r = await run('python3', ['-c', POPLIB], { input: JSON.stringify({ port: lab.port('pop3') }) });
  if (r.code !== 0) throw new Error(`poplib script failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as Record<string, unknown>;
}

test('Python poplib: STAT, LIST, UIDL, TOP, RETR, DELE, RSET, QUIT, lock, wrong password, bad numbers', async (t) => {
  const msgs = corpus();
  const lab = await labWith(msgs);
  try {
    const out = await poplibRun(lab);
    t.regex(out.welcome as string, /^\+OK .*<.+@.+>$/);
    t.is(out.wrong, '-ERR [AUTH] invalid user name or password');
    t.regex(out.login as string, /^\+OK alice's maildrop has 4 messages/);
    t.regex(out.second as string, /^-ERR \[IN-USE\]/);
    const total = msgs.reduce((n, m) => n + m.length, 0);
    t.deepEqual(out.stat, [4, total]);
    t.deepEqual(
      out.list,
      msgs.map((m, i) => `${i + 1} ${m.length}`),
    );
    const uids = (out.uidl as string[]).map((l) => l.split(' ')[1]);
    t.is(new Set(uids).size, 4);
    const m2 = msgs[1].toString();
    t.is(Buffer.from(out.top as string, 'base64').toString(), m2.slice(0, m2.indexOf('\r\n\r\n') + 4) + m2.split('\r\n\r\n')[1].split('\r\n')[0] + '\r\n');
    (out.retr as string[]).forEach((b64, i) => t.true(Buffer.from(b64, 'base64').equals(msgs[i]), `message ${i + 1} differs`));
    for (const b of out.bad as string[]) t.regex(b, /^-ERR /);
    t.deepEqual(out.stat_after_dele, [2, total - msgs[0].length - msgs[1].length]);
    t.deepEqual(out.stat_after_rset, [4, total]);
    t.regex(out.quit as string, /^\+OK .*3 messages left/);
    t.deepEqual(out.stat_next, [3, total - msgs[0].length]);
    // The dropped session deleted nothing: a fresh one sees all three.
    const list = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', curlBase(lab)]);
    t.is(list.stdout.toString().split('\r\n').filter(Boolean).length, 3);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

/** Runs fetchmail once (no daemon) with a private rcfile, idfile and HOME, delivering to files via --mda. */
async function fetchmail(lab: LabProcess, home: string, extra: string[]): Promise<{ run: Run; delivered: Buffer[] }> {
  const outDir = join(home, `out-${Date.now()}`);
  mkdirSync(outDir, { recursive: true });
  const rc = join(home, 'fetchmailrc');
  writeFileSync(rc, `poll 127.0.0.1 protocol POP3 port ${lab.port('pop3')}\n  user "alice" there with password "alice-lab" is "root" here\n`);
  chmodSync(rc, 0o600);
  const r = await run(
    'fetchmail',
    [
      '--nodetach',
      '--nosyslog',
      '-f',
      rc,
      '--idfile',
      join(home, 'idfile'),
      // fetchmail 6.4 sends STLS even when CAPA does not list it, so tls.offerStartTls cannot spare
      // it this switch: without it fetchmail gives up ("upgrade to TLS failed").
      '--sslproto',
      '',
      '-v',
      '--mda',
      `cat > "$(mktemp ${outDir}/msg.XXXXXX)"`,
      ...extra,
    ],
    { env: { HOME: home, FETCHMAILUSER: process.env.USER ?? 'root' }, timeoutMs: 60_000 },
  );
  const delivered = readdirSync(outDir).map((f) => readFileSync(join(outDir, f)));
  return { run: r, delivered };
}

/** What fetchmail hands its MDA: its own Received header in front, LF line endings. */
function asFetchmailDelivers(m: Buffer): string {
  return m.toString('utf8').replace(/\r\n/g, '\n');
}
function withoutFetchmailHeader(d: Buffer): string {
  const s = d.toString('utf8');
  return s.replace(/^Received: [^\n]*\n(?:[ \t][^\n]*\n)*/, '');
}

test('fetchmail: --keep --uidl (TOP) leaves the mail and fetches nothing twice; the default run downloads and deletes it', async (t) => {
  const msgs = corpus();
  const lab = await labWith(msgs);
  const home = mkdtempSync(join(tmpdir(), 'labnet-fetchmail-'));
  try {
    // --keep with --uidl: fetchmail downloads with TOP and remembers the UIDLs in its idfile.
    const kept = await fetchmail(lab, home, ['--keep', '--uidl']);
    t.is(kept.run.code, 0, kept.run.stderr);
    const want = msgs.map(asFetchmailDelivers).sort();
    t.deepEqual(kept.delivered.map(withoutFetchmailHeader).sort(), want);
    t.regex(kept.run.stdout.toString(), /POP3> TOP 1 /);
    const still = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', curlBase(lab)]);
    t.is(still.stdout.toString().split('\r\n').filter(Boolean).length, 4);
    // Same UIDLs next time: nothing is new, nothing is fetched again (exit status 1: no mail).
    const keptAgain = await fetchmail(lab, home, ['--keep', '--uidl']);
    t.is(keptAgain.run.code, 1, keptAgain.run.stdout.toString());
    t.is(keptAgain.delivered.length, 0);

    rmSync(join(home, 'idfile'), { force: true });
    const fetched = await fetchmail(lab, home, []);
    t.is(fetched.run.code, 0, fetched.run.stderr);
    t.deepEqual(fetched.delivered.map(withoutFetchmailHeader).sort(), want);
    t.regex(fetched.run.stdout.toString(), /POP3> DELE 1/);
    const empty = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', curlBase(lab)]);
    t.is(empty.code, 0);
    // curl prints the CRLF before an empty listing's "." (it does the same against Dovecot).
    t.is(empty.stdout.toString().trim(), '');
    // Nothing left: fetchmail's exit status 1 means "no mail".
    const again = await fetchmail(lab, home, []);
    t.is(again.run.code, 1, again.run.stderr);
    t.is(again.delivered.length, 0);
  } finally {
    await lab.stop();
    lab.cleanup();
    rmSync(home, { recursive: true, force: true });
  }
});

test('UIDL values survive a restart of labnet (curl -X UIDL)', async (t) => {
  const msgs = corpus().slice(0, 3);
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-pop3-restart-'));
  await preDeliver(
    dataDir,
    msgs.map((data) => ({ user: 'alice', data })),
  );
  const config = { services: { pop3: { port: 0 } } };
  const uidl = async (lab: LabProcess): Promise<string> => {
    const r = await run('curl', ['-sS', '--max-time', '20', '-u', 'alice:alice-lab', '-X', 'UIDL', curlBase(lab)]);
    t.is(r.code, 0, r.stderr);
    return r.stdout.toString();
  };
  let lab = await startLabProcess({ dataDir, only: ['pop3'], config });
  let before: string;
  try {
    before = await uidl(lab);
    t.is(before.split('\r\n').filter(Boolean).length, 3);
  } finally {
    t.is(await lab.stop(), 0);
  }
  lab = await startLabProcess({ dataDir, only: ['pop3'], config });
  try {
    t.is(await uidl(lab), before);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
