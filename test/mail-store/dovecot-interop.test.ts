// The store is a standard Maildir++ with Dovecot's own uid list and keywords files: Dovecot's imap
// binary (run pre-authenticated on stdin/stdout, nothing listens) sees the same UIDs, UIDVALIDITY,
// flags, keywords and folders; and after Dovecot has used the folder, labnet still reads it the same.
import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailStore } from '../../core/mail-store/index.js';

const IMAP = '/usr/lib/dovecot/imap';
const NOBODY = 65534;

function chownTree(path: string): void {
  chownSync(path, NOBODY, NOBODY);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e));
}

function dovecotImap(dir: string, user: string, commands: string[]): Promise<string> {
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `mail_location = maildir:${dir}/mail/%u`,
      `mail_uid = ${NOBODY}`,
      `mail_gid = ${NOBODY}`,
      'first_valid_uid = 1',
      'first_valid_gid = 1',
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      'ssl = no',
      '',
    ].join('\n'),
  );
  // Real pipes through sh: Dovecot refuses sockets on stdin/stdout ("started from inetd"), and Node's pipes are sockets.
  const input = join(dir, 'imap-input.txt');
  writeFileSync(input, commands.map((c, i) => `t${i} ${c}\r\n`).join('') + 'z LOGOUT\r\n');
  const output = join(dir, 'imap-output.txt');
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', `cat "$1" | "$2" -c "$3" > "$4"`, 'sh', input, IMAP, conf, output], {
      env: { USER: user, HOME: join(dir, 'home', user), PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const out = readFileSync(output, 'utf8');
      if (code === 0) resolve(out);
      else reject(new Error(`dovecot imap exited ${code}\n${out}\n${err}`));
    });
  });
}

test('Dovecot reads labnet Maildirs with the same UIDs, flags, keywords and folders', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-dovecot-'));
  chmodSync(dir, 0o755);
  try {
    let store = new MailStore({ root: join(dir, 'mail') });
    await store.start();
    for (let i = 1; i <= 4; i++) await store.deliver(Buffer.from(`Subject: m${i}\r\nFrom: a@b.test\r\n\r\nbody ${i}\r\n`), [{ user: 'alice' }]);
    await store.expunge('alice', 'INBOX', [2]);
    await store.updateFlags('alice', 'INBOX', [3], 'add', ['\\Seen', '\\Flagged', 'todo', '$Label1']);
    await store.ensureDefaultFolders('alice');
    await store.append('alice', 'Sent', Buffer.from('Subject: sent1\r\n\r\nx\r\n'), { flags: ['\\Seen', '\\Answered'] });
    const inbox = await store.open('alice', 'INBOX');
    const sent = await store.status('alice', 'Sent');
    await store.stop();

    mkdirSync(join(dir, 'home', 'alice'), { recursive: true });
    chownTree(join(dir, 'mail'));
    chownTree(join(dir, 'home'));
    const out = await dovecotImap(dir, 'alice', [
      'SELECT INBOX',
      'UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])',
      'LIST "" "*"',
      'STATUS Sent (MESSAGES UIDNEXT UIDVALIDITY)',
      'UID FETCH 1:* (FLAGS)',
    ]);
    t.true(out.includes(`* OK [UIDVALIDITY ${inbox.uidValidity}]`), out);
    t.true(out.includes(`* OK [UIDNEXT ${inbox.uidNext}]`));
    t.true(out.includes('* 3 EXISTS'));
    t.regex(out, /\* 1 FETCH \(UID 1 FLAGS \([^)]*\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: m1\r\n/);
    t.regex(out, /\* 2 FETCH \(UID 3 FLAGS \(\\Flagged \\Seen todo \$Label1\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: m3\r\n/);
    t.regex(out, /\* 3 FETCH \(UID 4 FLAGS \([^)]*\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: m4\r\n/);
    for (const f of ['INBOX', 'Drafts', 'Sent', 'Trash', 'Junk', 'Archive']) t.regex(out, new RegExp(`\\* LIST \\([^)]*\\) "\\." ${f}\\r\\n`));
    t.true(out.includes(`* STATUS Sent (MESSAGES 1 UIDNEXT ${sent.uidNext} UIDVALIDITY ${sent.uidValidity})`));

    // Dovecot has now written its own index files (and may have rewritten the uid list): labnet
    // still sees the same folder.
    store = new MailStore({ root: join(dir, 'mail') });
    await store.start();
    const again = await store.open('alice', 'INBOX');
    t.deepEqual(
      again.messages.map((m) => [m.uid, m.flags, m.headers.subject]),
      inbox.messages.map((m) => [m.uid, m.flags, m.headers.subject]),
    );
    t.is(again.uidValidity, inbox.uidValidity);
    await store.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
