// The three line protocols on the one session core: their command tables build at start-up with each
// name once (a duplicate is refused, never a silent replacement), and their commands read input only
// through the session base.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CommandTable, CommandTableError } from '../../core/line-session/index.js';
import { imapCommandTable } from '../../services/imap/commands/registry.js';
import { POP3_COMMANDS, pop3CommandTable } from '../../services/pop3/commands/index.js';
import { userCommand } from '../../services/pop3/commands/user.js';
import { SMTP_COMMANDS } from '../../services/smtp/commands/index.js';
import { PROJECT_ROOT } from '../support/lab-process.js';

test("the protocols' registries build, each name once (IMAP no longer registers STARTTLS twice)", (t) => {
  const imap = imapCommandTable().names();
  const pop3 = pop3CommandTable().names();
  const smtp = SMTP_COMMANDS.names();
  for (const names of [imap, pop3, smtp]) t.is(new Set(names).size, names.length);
  t.is(imap.filter((n) => n === 'STARTTLS').length, 1);
  t.true(imap.includes('UID FETCH') && imap.includes('UID STORE') && imap.includes('UID EXPUNGE'));
  t.true(pop3.includes('STLS'));
  t.true(smtp.includes('STARTTLS'));
});

test('a second command with a taken name stops start-up (POP3 used to let the TLS wrapper of USER replace USER)', (t) => {
  const err = t.throws(() => new CommandTable([...POP3_COMMANDS, { ...userCommand }]), { instanceOf: CommandTableError });
  t.regex(err?.message ?? '', /two commands are named USER/);
});

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('SMTP, POP3 and IMAP read input only through the session base (no framer, no raw socket reads)', (t) => {
  const offenders: string[] = [];
  for (const service of ['smtp', 'pop3', 'imap']) {
    for (const file of sources(join(PROJECT_ROOT, 'services', service))) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of [/\.framer\b/, /conn\.readCommandLine\(/, /\.socket\.(on|once|write|cork|uncork)\b/]) {
        if (pattern.test(text)) offenders.push(`${file.slice(PROJECT_ROOT.length + 1)}: ${pattern.source}`);
      }
    }
  }
  t.deepEqual(offenders, []);
});
