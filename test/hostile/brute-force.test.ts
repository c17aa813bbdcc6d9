// Brute force from one address: 16 parallel connections guessing passwords over SMTP AUTH, POP3
// USER/PASS and IMAP LOGIN, against the real process, with the throttle (core/throttle.ts) off and on.
// The answers a second are printed (the issue measured 8,181 over SMTP, 6,291 over POP3 and 52 over
// IMAP); with the throttle on they must stay at a few a second whatever the parallelism, while the real
// user, from another address, logs in at once and a watcher's session is never stalled.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { LineClient } from '../support/line-client.js';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { connectFrom, Watcher, WATCHER } from './helpers.js';

const PARALLEL = 16;
const RUN_MS = 4000;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

type Proto = 'smtp' | 'pop3' | 'imap';

/** One guess on an open connection: true when the answer was a refusal of the password. */
const guess: Record<Proto, (c: LineClient, n: number) => Promise<string>> = {
  async smtp(c, n) {
    c.write(`AUTH PLAIN ${b64(`\0alice\0guess${n}`)}\r\n`);
    return (await c.line(30_000)) ?? '<closed>';
  },
  async pop3(c, n) {
    c.write(`USER alice\r\nPASS guess${n}\r\n`);
    await c.line(30_000);
    return (await c.line(30_000)) ?? '<closed>';
  },
  async imap(c, n) {
    c.write(`a${n} LOGIN alice guess${n}\r\n`);
    return (await c.line(30_000)) ?? '<closed>';
  },
};

const open: Record<Proto, (lab: LabProcess, from?: string) => Promise<LineClient>> = {
  async smtp(lab, from = '127.0.0.1') {
    const c = await connectFrom(lab.port('smtp'), from);
    await c.line();
    c.write('EHLO attacker\r\n');
    for (;;) {
      const l = await c.line();
      if (l === null || l.startsWith('250 ')) break;
    }
    return c;
  },
  async pop3(lab, from = '127.0.0.1') {
    const c = await connectFrom(lab.port('pop3'), from);
    await c.line();
    return c;
  },
  async imap(lab, from = '127.0.0.1') {
    const c = await connectFrom(lab.port('imap'), from);
    await c.line();
    return c;
  },
};

/** 16 connections guess for RUN_MS; returns wrong-password answers a second and the temporary refusals. */
async function attack(lab: LabProcess, proto: Proto): Promise<{ perSecond: number; refused: number; answers: number }> {
  let answers = 0;
  let refused = 0;
  let n = 0;
  const t0 = performance.now();
  const deadline = t0 + RUN_MS;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      let c = await open[proto](lab);
      while (performance.now() < deadline) {
        const reply = await guess[proto](c, n++);
        if (/^(454|-ERR \[SYS\/TEMP\]|a\d+ NO \[UNAVAILABLE\])/.test(reply)) refused++;
        else if (/^(535|-ERR \[AUTH\]|a\d+ NO \[AUTHENTICATIONFAILED\])/.test(reply)) answers++;
        if (reply === '<closed>' || reply.startsWith('421')) {
          // SMTP closes after a few failures (Postfix does too): the attacker reconnects.
          c.end();
          c = await open[proto](lab);
        }
      }
      c.end();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: answers / seconds, refused, answers };
}

async function run(t: ExecutionContext, proto: Proto, throttle: boolean): Promise<number> {
  const lab = await startLabProcess({
    only: ['smtp', 'pop3', 'imap'],
    config: { limits: { loginThrottle: { enabled: throttle } }, services: { imap: { maxSessionsPerUser: 100 } } },
  });
  try {
    const watcher = await Watcher.smtp(lab.port('smtp'));
    const r = await attack(lab, proto);
    // The real user, from her own address, logs in at once with the right password.
    const mine = await open[proto](lab, WATCHER);
    const t0 = performance.now();
    const login: Record<Proto, () => Promise<string | null>> = {
      smtp: async () => {
        mine.write(`AUTH PLAIN ${b64('\0alice\0alice-lab')}\r\n`);
        return mine.line();
      },
      pop3: async () => {
        mine.write('USER alice\r\nPASS alice-lab\r\n');
        await mine.line();
        return mine.line();
      },
      imap: async () => {
        mine.write('z LOGIN alice alice-lab\r\n');
        for (;;) {
          const l = await mine.line();
          if (l === null || l.startsWith('z ')) return l;
        }
      },
    };
    const answer = await login[proto]();
    const loginMs = performance.now() - t0;
    mine.end();
    await watcher.stop();
    t.log(
      `${proto} throttle ${throttle ? 'on ' : 'off'}: ${r.perSecond.toFixed(1)} wrong-password answers/s from ${PARALLEL} connections (${r.answers} in ${RUN_MS / 1000} s, ${r.refused} refused for now); real user from ${WATCHER} logged in in ${loginMs.toFixed(0)} ms; watcher's longest wait ${watcher.maxLatencyMs.toFixed(0)} ms`,
    );
    t.regex(answer ?? '', /^(235|\+OK|z OK)/, 'the real user logs in from another address');
    t.deepEqual(watcher.failures, []);
    t.true(watcher.maxLatencyMs < 2000, `watcher waited ${watcher.maxLatencyMs} ms`);
    if (throttle) {
      t.true(loginMs < 1500, `the real user waited ${loginMs} ms`);
      // 3 free failures, then slots of 0.25, 0.5, 1, 2, 2... s: at most ~12 in 4 s from one address.
      t.true(r.answers <= 16, `${r.answers} wrong-password answers in ${RUN_MS} ms`);
    }
    return r.perSecond;
  } finally {
    await lab.stop();
    lab.cleanup();
  }
}

for (const proto of ['smtp', 'pop3', 'imap'] as const) {
  test.serial(
    `brute force over ${proto} from one address with ${PARALLEL} connections: throttled to a few answers a second, the real user unaffected`,
    async (t) => {
      const before = await run(t, proto, false);
      const now = await run(t, proto, true);
      t.true(now < before, `throttled ${now.toFixed(1)}/s vs ${before.toFixed(1)}/s`);
    },
  );
}
