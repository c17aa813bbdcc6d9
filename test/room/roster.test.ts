// The class roster: the CSV reader (per-line errors for hostile rows, fast-check: never throws), the
// scrypt hashes, and `labnet users import|list|add|passwd|remove` against a running labnet: the
// running server picks each change up (curl logs in over IMAP, POP3 and SMTP), roster.json holds
// only hashes, and APOP (Python's poplib) is refused for hashed accounts with a reason, and not
// offered at all when no account has a clear password.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { parseRosterCsv } from '../../core/roster/roster-csv.js';
import { hashPassword, verifyPasswordHash, verifyPasswordHashSync, isPasswordHash } from '../../core/roster/password-hash.js';
import { generatePassword } from '../../core/roster/generate.js';
import { runCli, startLabProcess, type LabProcess } from '../support/lab-process.js';

const run = promisify(execFile);

test('the CSV reader takes a header in any order, quotes, a BOM and CRLF', (t) => {
  const r = parseRosterCsv(Buffer.from('\uFEFFpassword,Name,Full Name\r\n,Dave,"Dave O\'Brien, Jr."\r\nsecret-1,erin,Erin\r\n\r\n'));
  t.deepEqual(r.errors, []);
  t.deepEqual(r.rows, [
    { line: 2, name: 'dave', fullName: "Dave O'Brien, Jr." },
    { line: 3, name: 'erin', fullName: 'Erin', password: 'secret-1' },
  ]);
  const plain = parseRosterCsv('frank,Frank F\ngrace\n');
  t.deepEqual(
    plain.rows.map((x) => [x.line, x.name, x.fullName, x.password]),
    [
      [1, 'frank', 'Frank F', undefined],
      [2, 'grace', '', undefined],
    ],
  );
});

test('hostile rows get one clear error each, with their line', (t) => {
  const csv = [
    'name,full name,password',
    'ok1,Fine',
    'bad name,Space',
    '../etc,Dots',
    'ok1,Again',
    'ctl,"Bell\u0007"',
    'many,a,b,c',
    `long,${'x'.repeat(300)}`,
    'pw,P,' + 'y'.repeat(300),
  ].join('\n');
  const r = parseRosterCsv(csv);
  t.deepEqual(
    r.rows.map((x) => x.name),
    ['ok1'],
  );
  t.deepEqual(
    r.errors.map((e) => e.line),
    [3, 4, 5, 6, 7, 8, 9],
  );
  t.regex(r.errors[0].message, /the name "bad name" is not usable/);
  t.regex(r.errors[2].message, /"ok1" is already on line 2/);
  t.regex(r.errors[3].message, /control characters/);
  t.regex(r.errors[4].message, /4 columns, expected at most 3/);
  const broken = parseRosterCsv('a,b\n"unterminated,c\n');
  t.deepEqual(
    broken.rows.map((x) => x.name),
    ['a'],
  );
  t.regex(broken.errors[0].message, /not valid CSV: Quote Not Closed/);
  t.regex(parseRosterCsv(Buffer.alloc(3 * 1024 * 1024, 0x61)).errors[0].message, /larger than/);
});

test('the CSV reader never throws (fast-check)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }), { maxLength: 20 }), fc.constantFrom(',', '"', '\n', '\r\n'), (rows, sep) => {
      const r = parseRosterCsv(rows.map((cells) => cells.join(sep === '"' ? ',"' : ',')).join(sep === '\r\n' ? '\r\n' : '\n'));
      return r.rows.every((x) => /^[a-z0-9][a-z0-9._-]*$/.test(x.name)) && r.errors.every((e) => typeof e.message === 'string');
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('scrypt hashes verify the right password only, and refuse absurd parameters', async (t) => {
  const h = await hashPassword('kavo-mire-42');
  t.regex(h, /^scrypt\$16384\$8\$1\$/);
  t.true(isPasswordHash(h));
  t.true(await verifyPasswordHash('kavo-mire-42', h));
  t.false(await verifyPasswordHash('kavo-mire-43', h));
  t.true(verifyPasswordHashSync('kavo-mire-42', h));
  t.false(isPasswordHash(h.replace('$16384$', '$1073741824$')));
  t.false(await verifyPasswordHash('x', 'plain-text'));
  const p = generatePassword();
  t.regex(p, /^[bdfghjkmnprstvz][aeiou][bdfghjkmnprstvz][aeiou]-[bdfghjkmnprstvz][aeiou][bdfghjkmnprstvz][aeiou]-\d\d$/);
});

let lab: LabProcess;
test.before(async () => {
  lab = await startLabProcess({ only: ['smtp', 'imap', 'pop3', 'http'], timeoutMs: 60_000 });
});
test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

const cli = (...args: string[]) => runCli(['users', ...args, '-d', lab.dataDir], { timeoutMs: 60_000 });

async function imapLogin(user: string, password: string): Promise<boolean> {
  try {
    await run('curl', ['-sS', '--max-time', '10', '-u', `${user}:${password}`, `imap://127.0.0.1:${lab.port('imap', 'imap')}/`]);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until the running server's answer for this login is `want`: the roster reload is a state change. */
async function until(t: import('ava').ExecutionContext, user: string, password: string, want: boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  let got = !want;
  while (Date.now() < deadline && (got = await imapLogin(user, password)) !== want);
  t.is(got, want, `${user} login ${want ? 'accepted' : 'refused'}`);
}

test.serial('labnet users import, list, passwd, remove: the running server follows', async (t) => {
  const csv = join(lab.dataDir, 'roster.csv');
  writeFileSync(csv, 'name,full name,password\nDave,Dave Daring,\nerin,Erin Early,erin-own-pw\n');
  const imp = await cli('import', csv);
  t.is(imp.code, 0, imp.stderr);
  t.regex(imp.stdout, /2 added/);
  const dave = /^dave\s+(\S+)\s*\*/m.exec(imp.stdout)?.[1];
  t.truthy(dave, imp.stdout);
  const stored = readFileSync(join(lab.dataDir, 'roster.json'), 'utf8');
  t.false(stored.includes(dave!));
  t.false(stored.includes('erin-own-pw'));
  t.regex(stored, /scrypt\$/);
  await until(t, 'dave', dave!, true);
  t.true(await imapLogin('erin@lab.test', 'erin-own-pw'));
  t.false(await imapLogin('erin', 'wrong'));
  // POP3 USER/PASS and SMTP AUTH take roster accounts too.
  await run('curl', ['-sS', '--max-time', '10', '-u', `erin:erin-own-pw`, `pop3://127.0.0.1:${lab.port('pop3', 'pop3')}/`]);
  const mail = join(lab.dataDir, 'm.txt');
  writeFileSync(mail, 'Subject: hi\r\n\r\nfrom the roster\r\n');
  await run('curl', [
    '-sS',
    '--max-time',
    '10',
    '-u',
    'erin:erin-own-pw',
    '--mail-from',
    'erin@lab.test',
    '--mail-rcpt',
    'dave@lab.test',
    '-T',
    mail,
    `smtp://127.0.0.1:${lab.port('smtp', 'submission')}/`,
  ]);

  const list = await cli('list');
  t.regex(list.stdout, /dave@lab\.test\tDave Daring\troster/);
  t.regex(list.stdout, /alice@lab\.test\t\tconfig/);

  const pw = await cli('passwd', 'dave', '--password', 'dave-new-pw');
  t.is(pw.code, 0, pw.stderr);
  await until(t, 'dave', 'dave-new-pw', true);
  t.false(await imapLogin('dave', dave!));

  const rm = await cli('remove', 'erin');
  t.is(rm.code, 0);
  await until(t, 'erin', 'erin-own-pw', false);
  t.is((await cli('remove', 'erin')).code, 2);

  // A bad file changes nothing and names its lines.
  writeFileSync(csv, 'name\nok\nbad name\n\n"x\n');
  const bad = await cli('import', csv);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /roster\.csv:3: the name "bad name"/);
  t.regex(bad.stderr, /nothing imported/);
  t.false((await cli('list')).stdout.includes('ok@'));
});

async function pythonApop(user: string, secret: string, port: number): Promise<string> {
  const script = `import poplib,sys
p=poplib.POP3('127.0.0.1',${port},timeout=10)
try:
    print(p.apop(sys.argv[1],sys.argv[2]).decode())
except Exception as e:
    print('ERR', e)
`;
  return (await run('python3', ['-c', script, user, secret])).stdout.trim();
}

test.serial('APOP: clear-password accounts keep it, hashed ones are refused with the reason', async (t) => {
  const add = await cli('add', 'gina', '--password', 'gina-pw');
  t.is(add.code, 0, add.stderr);
  await until(t, 'gina', 'gina-pw', true);
  const port = lab.port('pop3', 'pop3');
  t.regex(await pythonApop('alice', 'alice-lab', port), /^\+OK/);
  t.regex(await pythonApop('gina', 'gina-pw', port), /ERR .*APOP is not available for this account \(its password is stored hashed\)/);
});

test('with only roster accounts the POP3 greeting offers no APOP timestamp', async (t) => {
  const solo = await startLabProcess({ only: ['pop3'], config: { users: [] }, timeoutMs: 60_000 });
  try {
    const out = await pythonApop('nobody', 'x', solo.port('pop3', 'pop3'));
    t.regex(out, /ERR .*APOP not supported/);
  } finally {
    await solo.stop();
    solo.cleanup();
  }
});

test('Accounts: roster accounts log in (thread pool and sync), a damaged roster keeps the last good one', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { Accounts } = await import('../../core/auth.js');
  const { importRoster } = await import('../../core/roster/index.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-roster-'));
  try {
    await importRoster(dataDir, [{ line: 1, name: 'kim', fullName: 'Kim K', password: 'kim-pw' }]);
    const notices: string[] = [];
    const events = { publish: (e: { message?: string }) => notices.push(e.message ?? '') } as unknown as ConstructorParameters<typeof Accounts>[1];
    const config = { domain: 'lab.test', hostname: 'labnet.lab.test', users: [{ name: 'alice', password: 'alice-lab' }], testMode: false, dataDir };
    const accounts = new Accounts(config as unknown as ConstructorParameters<typeof Accounts>[0], events);
    try {
      t.deepEqual(await accounts.verifyAsync('kim@lab.test', 'kim-pw'), { ok: true, user: 'kim' });
      t.deepEqual(await accounts.verifyAsync('kim', 'nope'), { ok: false });
      t.deepEqual(accounts.checkPassword('kim', 'kim-pw'), { ok: true, user: 'kim' });
      t.true(accounts.isHashed('kim'));
      t.false(accounts.isHashed('alice'));
      t.true(accounts.exists('kim'));
      t.deepEqual(accounts.verifyApop('kim', '<1@x>', '0'.repeat(32)), { ok: false });
      t.deepEqual(
        accounts.accountList().map((a) => [a.name, a.fullName]),
        [
          ['alice', undefined],
          ['kim', 'Kim K'],
        ],
      );
      writeFileSync(join(dataDir, 'roster.json'), '{"version":1,"users":[{"name":"x y","password":"plain"}]}');
      t.is(accounts.reloadRoster(), 1);
      t.regex(notices.at(-1) ?? '', /roster not reloaded: .*not a labnet roster/);
      t.deepEqual(await accounts.verifyAsync('kim', 'kim-pw'), { ok: true, user: 'kim' });
    } finally {
      accounts.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
