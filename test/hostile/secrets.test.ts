// Secrets never reach a log, an event or a reply: against the real process logging the whole dialogue
// (--log-level debug), random passwords are sent the ways students mistype them (an unknown verb
// before AUTH PLAIN's base64, an unclosed quote in LOGIN, the SASL response sent as a command, the
// password on the USER line, AUTH with the response where the mechanism goes...), and no trace of them,
// plain, upper-cased or base64, appears in what the process printed. Before: `AUHT PLAIN <base64>` and
// `a LOGIN alice "secret` were logged raw at debug level, and the mechanism slot was echoed in replies.
import test from 'ava';
import fc from 'fast-check';
import { startLabProcess } from '../support/lab-process.js';
import { connectFrom, ATTACKER } from './helpers.js';
import type { LineClient } from '../support/line-client.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A password as students choose them: 8 to 24 characters with a digit or a mixed case somewhere. */
const secret = fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#%&*+?@^_~-]{6,20}$/), fc.integer({ min: 10, max: 99 })).map(([s, n]) => `Pw${s}${n}`);

/** Each mistake as lines to send; the server's answers are read one by one. */
const MISTAKES: Record<'smtp' | 'pop3' | 'imap', Array<(pw: string) => string[]>> = {
  smtp: [
    (pw) => [`AUHT PLAIN ${b64(`\0alice\0${pw}`)}`],
    (pw) => [`AUTH ${b64(`\0alice\0${pw}`)}`],
    (pw) => [b64(`\0alice\0${pw}`)],
    (pw) => [`PASS ${pw}`],
    (pw) => [`${pw} alice`],
    (pw) => [`AUTH PLAIN ${b64(`\0alice\0${pw}`)} extra`],
  ],
  pop3: [
    (pw) => [`PAS ${pw}`],
    (pw) => [`USER alice ${pw}`],
    (pw) => [`PASS ${pw}`],
    (pw) => [`AUTH ${b64(`\0alice\0${pw}`)}`],
    (pw) => [b64(`\0alice\0${pw}`)],
    (pw) => [`AUHT PLAIN ${b64(`\0alice\0${pw}`)}`],
  ],
  imap: [
    (pw) => [`a LOGIN alice "${pw}`],
    (pw) => [`a LOGNI alice ${pw}`],
    (pw) => [`a LOGIN ${pw}`],
    (pw) => [`a LOGIN alice ${pw} extra`],
    (pw) => [`a AUTHENTICATE ${b64(`\0alice\0${pw}`)}`],
    (pw) => [`a AUTHENTICATE PLAIN ${b64(`\0alice\0${pw}`)} extra`],
    (pw) => [`a AUHTENTICATE PLAIN ${b64(`\0alice\0${pw}`)}`],
  ],
};

test('no mistyped password or SASL payload reaches the log, an event or a reply (property, real process at debug level)', async (t) => {
  const lab = await startLabProcess({ only: ['smtp', 'pop3', 'imap'], args: ['--log-level', 'debug'] });
  const sent: string[] = [];
  const replies: string[] = [];
  const clients: Record<string, LineClient> = {};
  try {
    for (const proto of ['smtp', 'pop3', 'imap'] as const) {
      const c = await connectFrom(lab.port(proto), ATTACKER);
      await c.line();
      if (proto === 'smtp') {
        c.write('EHLO student\r\n');
        for (let l = await c.line(); l !== null && !l.startsWith('250 '); l = await c.line());
      }
      clients[proto] = c;
    }
    await fc.assert(
      fc.asyncProperty(secret, fc.constantFrom('smtp' as const, 'pop3' as const, 'imap' as const), fc.nat(), async (pw, proto, pick) => {
        const mistakes = MISTAKES[proto];
        const lines = mistakes[pick % mistakes.length](pw);
        let c = clients[proto];
        if (c.closed) {
          // Too many bad commands end a session: open another.
          c = await connectFrom(lab.port(proto), ATTACKER);
          await c.line();
          if (proto === 'smtp') {
            c.write('EHLO student\r\n');
            for (let l = await c.line(); l !== null && !l.startsWith('250 '); l = await c.line());
          }
          clients[proto] = c;
        }
        sent.push(pw);
        for (const l of lines) {
          c.write(`${l}\r\n`);
          const reply = await c.line();
          if (reply === null) break;
          replies.push(reply);
          // A continuation request ("334 ", "+ "): cancel it.
          if (/^(334|\+)( |$)/.test(reply)) {
            c.write('*\r\n');
            const r2 = await c.line();
            if (r2 !== null) replies.push(r2);
          }
        }
      }),
      { numRuns: 120 },
    );
  } finally {
    for (const c of Object.values(clients)) c.end();
    await lab.stop();
  }
  const printed = lab.stdout() + lab.stderr();
  t.true(printed.includes(' C: '), 'the dialogue was logged (debug level)');
  t.true(printed.includes('<redacted>'));
  const leaks: string[] = [];
  for (const pw of sent) {
    for (const form of [pw, pw.toUpperCase(), b64(`\0alice\0${pw}`), b64(`\0alice\0${pw}`).toUpperCase()]) {
      if (printed.includes(form)) leaks.push(`log: ${form}`);
      if (replies.some((r) => r.includes(form))) leaks.push(`reply: ${form}`);
    }
  }
  t.deepEqual(leaks, []);
  lab.cleanup();
});
