// `make bench BENCH=soak-login` (not in `make test`, skipped by a plain `make bench`): the cost of a
// student's *first* login, the part of `make soak` whose p99 was seconds (issue 14). Against the real
// `labnet start` process, each student from their own loopback address:
//  1. one at a time: IMAP LOGIN of --sequential students who never logged in (mailbox creation:
//     INBOX and the five special-use folders), then the same students again (nothing to create),
//     then a first message to each (RCPT TO opens all six folders for the quota check);
//  2. the rest of the class at once: a first IMAP LOGIN each, while as many SMTP sessions send one
//     message to a student who has no mailbox yet (RCPT TO and DATA latency).
// Printed: per-user first-login time (median), warm login time, the concurrent p50/p99/max and the
// wall time of the whole burst.
// Options: --students N (default 100), --sequential K (default 20), --threads T (see below).
import { LineClient } from '../support/line-client.js';
import { startLabProcess } from '../support/lab-process.js';
import { arg, median, percentile } from '../support/bench-util.js';
import { studentAddress, studentName as name, studentPassword as password } from './class-roster.js';

const STUDENTS = Math.max(2, Math.min(1000, Number(arg('students', '100'))));
const SEQUENTIAL = Math.max(1, Math.min(STUDENTS - 1, Number(arg('sequential', '20'))));
/** --threads T: the server's libuv thread pool size (UV_THREADPOOL_SIZE; Node's default is 4). */
const THREADS = arg('threads', '');
const TIMEOUT_MS = 60_000;

/** A connection from student i's own address. */
function connectFrom(port: number, i: number): Promise<LineClient> {
  return LineClient.connect(port, '127.0.0.1', studentAddress(i));
}

/** Sends `line` and reads until `done`; returns the elapsed ms and throws unless the last line is `ok`. */
async function command(c: LineClient, line: string | undefined, done: (l: string) => boolean, ok: (l: string) => boolean): Promise<number> {
  const t0 = performance.now();
  if (line !== undefined) c.write(`${line}\r\n`);
  for (;;) {
    const l = await c.line(TIMEOUT_MS);
    if (l === null) throw new Error(`connection closed after ${JSON.stringify(line)}`);
    if (done(l)) {
      if (!ok(l)) throw new Error(`${JSON.stringify(line?.slice(0, 40))} -> ${l}`);
      return performance.now() - t0;
    }
  }
}

async function main(): Promise<void> {
  const users = Array.from({ length: STUDENTS }, (_, i) => ({ name: name(i), password: password(i) }));
  const lab = await startLabProcess({
    only: ['smtp', 'imap'],
    config: { users, limits: { maxConnections: 4000 } },
    timeoutMs: 120_000,
    ...(THREADS ? { env: { UV_THREADPOOL_SIZE: THREADS } } : {}),
  });
  const imapPort = lab.port('imap');
  const smtpPort = lab.port('smtp', 'submission');
  try {
    /** One IMAP LOGIN of student i; returns the LOGIN's latency. */
    const login = async (i: number): Promise<number> => {
      const c = await connectFrom(imapPort, i);
      try {
        await command(
          c,
          undefined,
          () => true,
          (l) => l.startsWith('* OK'),
        );
        const ms = await command(
          c,
          `a LOGIN ${name(i)} ${password(i)}`,
          (l) => l.startsWith('a '),
          (l) => l.startsWith('a OK'),
        );
        await command(
          c,
          'z LOGOUT',
          (l) => l.startsWith('z '),
          (l) => l.startsWith('z OK'),
        );
        return ms;
      } finally {
        c.end();
      }
    };
    /** One SMTP message from student `from` to student `to`; returns [RCPT ms, DATA ms]. */
    const send = async (from: number, to: number): Promise<[number, number]> => {
      const c = await connectFrom(smtpPort, from);
      try {
        const last = (l: string) => /^\d{3} /.test(l);
        const code = (x: string) => (l: string) => l.startsWith(x);
        await command(c, undefined, last, code('220'));
        await command(c, 'EHLO student', last, code('250'));
        await command(c, `AUTH PLAIN ${Buffer.from(`\0${name(from)}\0${password(from)}`).toString('base64')}`, last, code('235'));
        await command(c, `MAIL FROM:<${name(from)}@lab.test>`, last, code('250'));
        const rcpt = await command(c, `RCPT TO:<${name(to)}@lab.test>`, last, code('250'));
        await command(c, 'DATA', last, code('354'));
        const data = await command(c, `Subject: first\r\n\r\nhello\r\n.`, last, code('250'));
        await command(c, 'QUIT', last, code('221'));
        return [rcpt, data];
      } finally {
        c.end();
      }
    };

    const first: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) first.push(await login(i));
    const warm: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) warm.push(await login(i));
    console.log(
      `one at a time, ${SEQUENTIAL} students: first LOGIN median ${median(first).toFixed(1)} ms (max ${Math.max(...first).toFixed(1)}), second LOGIN median ${median(warm).toFixed(1)} ms`,
    );

    // A first mail to each of them: RCPT TO checks the quota, which opens every folder of the user.
    const firstRcpt: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) firstRcpt.push((await send((i + 1) % SEQUENTIAL, i))[0]);
    console.log(`one at a time, first mail to each of them: RCPT median ${median(firstRcpt).toFixed(1)} ms (max ${Math.max(...firstRcpt).toFixed(1)})`);

    const rest = Array.from({ length: STUDENTS - SEQUENTIAL }, (_, k) => SEQUENTIAL + k);
    const t0 = performance.now();
    const logins: number[] = [];
    const rcpts: number[] = [];
    const datas: number[] = [];
    await Promise.all(
      rest.map(async (i, k) => {
        // Half the burst mails a classmate who has not logged in yet (a mailbox made by delivery).
        const work: Array<Promise<void>> = [login(i).then((ms) => void logins.push(ms))];
        if (k % 2 === 0)
          work.push(
            send(i, rest[(k + 1) % rest.length]).then(([r, d]) => {
              rcpts.push(r);
              datas.push(d);
            }),
          );
        await Promise.all(work);
      }),
    );
    const wall = performance.now() - t0;
    console.log(
      `at once, ${rest.length} students: first LOGIN p50 ${percentile(logins, 0.5).toFixed(0)} ms, p99 ${percentile(logins, 0.99).toFixed(0)} ms, max ${Math.max(...logins).toFixed(0)} ms; ` +
        `${rcpts.length} mails to new mailboxes: RCPT p99 ${percentile(rcpts, 0.99).toFixed(0)} ms, DATA p99 ${percentile(datas, 0.99).toFixed(0)} ms; wall ${wall.toFixed(0)} ms (${(wall / rest.length).toFixed(1)} ms per student)`,
    );
  } finally {
    await lab.stop();
    lab.cleanup();
  }
}

await main();
