// Roster passwords (scrypt hashes, ~50 ms of CPU each) are checked on the thread pool everywhere a
// person logs in over HTTP: the /lab login form, the instructors' HTTP Basic on /lab/capture.pcapng
// and on the REST API (students' right passwords there: checked, then 401 as they are no instructors). 20 logins with passwords not checked before run at once while a concurrent
// request is answered; perf_hooks bounds how long the loop was held: the event-loop-delay histogram's
// longest stall, and the event loop utilization (the share of the time the loop was busy rather than
// waiting for I/O). Both are bounds on blocking, not latency targets, and generous: measured on a busy
// 2-core machine, thread-pool checks gave utilization 0.11-0.45 and stalls of 54-604 ms (the loop's
// thread competes with four scrypt threads and other work for the cores); the synchronous checks they
// replace gave utilization 0.87-1.00 and stalls of 550-1840 ms (the histogram alone can miss them: while the loop
// is held its timer does not run, so a phase held throughout records no sample at all).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { startLabnet } from '../../app/labnet.js';
import { importRoster } from '../../core/roster/index.js';
import { isRoot } from '../dhcp/netns-fixture.js';

const COUNT = 20;
/** Generous: one synchronous scrypt alone is ~50 ms on a quiet machine, 20 of them ~1 s. */
const MAX_DELAY_MS = 1000;
const MAX_UTILIZATION = 0.75;

interface Phase {
  name: string;
  /** The request for login number i; resolves with its HTTP status. */
  login(i: number): Promise<number>;
  /** The same request once with the teacher's clear password (no scrypt): warms the code paths up. */
  warm(): Promise<number>;
  ok: number;
}

test.serial('20 roster logins at once (/lab form, capture Basic, REST Basic) leave the event loop free', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-loop-'));
  const kinds = ['form', 'capture', 'rest'];
  const rows = kinds.flatMap((k) => Array.from({ length: COUNT }, (_, i) => ({ line: 1, name: `${k}${i}`, fullName: '', password: `${k}-pw-${i}` })));
  await importRoster(dataDir, rows);
  const capture = isRoot();
  const lab = await startLabnet({
    defaults: false,
    // The REST API comes with the mail store (any mail service).
    only: ['http', 'smtp'],
    logger: pino({ level: 'silent' }),
    config: {
      listen: '127.0.0.1',
      dataDir,
      // Instructors are config users (clear passwords); the roster's students trying HTTP Basic on the
      // instructors' doors still have their password checked (then get 401: not an instructor).
      users: [{ name: 'teacher', password: 'teacher-pw' }],
      instructors: ['teacher'],
      limits: { shutdownGraceMs: 500 },
      services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
      ...(capture ? { capture: { enabled: true, interface: 'lo' } } : {}),
    },
  });
  try {
    const port = lab.ports.http;
    const base = `http://127.0.0.1:${port}`;
    const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
    const phases: Phase[] = [
      {
        name: '/lab login form',
        ok: 303,
        login: async (i) =>
          (
            await fetch(`${base}/lab/login`, {
              method: 'POST',
              redirect: 'manual',
              headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base },
              body: `user=form${i}&password=form-pw-${i}`,
            })
          ).status,
        warm: async () =>
          (
            await fetch(`${base}/lab/login`, {
              method: 'POST',
              redirect: 'manual',
              headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base },
              body: `user=teacher&password=teacher-pw`,
            })
          ).status,
      },
      {
        name: 'REST API instructor Basic',
        ok: 401,
        login: async (i) => {
          const r = await fetch(`${base}/api/v1/users`, { headers: { Authorization: basic(`rest${i}`, `rest-pw-${i}`) } });
          await r.arrayBuffer();
          return r.status;
        },
        warm: async () => {
          const r = await fetch(`${base}/api/v1/users`, { headers: { Authorization: basic('teacher', 'teacher-pw') } });
          await r.arrayBuffer();
          return r.status;
        },
      },
    ];
    if (capture)
      phases.push({
        name: 'capture download instructor Basic',
        ok: 401,
        login: async (i) => {
          const r = await fetch(`${base}/lab/capture.pcapng`, { headers: { Authorization: basic(`capture${i}`, `capture-pw-${i}`) } });
          await r.arrayBuffer();
          return r.status;
        },
        warm: async () => {
          const r = await fetch(`${base}/lab/capture.pcapng`, { headers: { Authorization: basic('teacher', 'teacher-pw') } });
          await r.arrayBuffer();
          return r.status;
        },
      });
    else t.log('capture Basic not tried: packet capture needs root');

    for (const phase of phases) {
      {
        const w = await phase.warm();
        t.true([200, 303].includes(w), `${phase.name}: the teacher logs in (${w})`);
      }
      await (await fetch(`${base}/healthz`)).arrayBuffer();
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      const elu0 = performance.eventLoopUtilization();
      let answered = 0;
      const logins = Array.from({ length: COUNT }, (_, i) =>
        phase.login(i).then((status) => {
          answered++;
          return status;
        }),
      );
      // The concurrent request: answered while the password checks are still running.
      const probe = fetch(`${base}/healthz`).then(async (r) => {
        await r.arrayBuffer();
        return { status: r.status, loginsAnsweredBefore: answered };
      });
      const statuses = await Promise.all(logins);
      const p = await probe;
      histogram.disable();
      const elu = performance.eventLoopUtilization(elu0);
      const maxMs = histogram.max / 1e6;
      t.log(
        `${phase.name}: ${COUNT} logins; /healthz answered after ${p.loginsAnsweredBefore}; event loop utilization ${elu.utilization.toFixed(2)} of ${(elu.idle + elu.active) | 0} ms, delay max ${maxMs.toFixed(1)} ms, mean ${(histogram.mean / 1e6).toFixed(1)} x ${histogram.count}, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms`,
      );
      t.deepEqual(statuses, Array<number>(COUNT).fill(phase.ok), phase.name);
      t.is(p.status, 200);
      t.true(p.loginsAnsweredBefore < COUNT / 2, `${phase.name}: /healthz waited for ${p.loginsAnsweredBefore} password checks`);
      t.true(maxMs < MAX_DELAY_MS, `${phase.name}: the event loop was held for ${maxMs.toFixed(1)} ms`);
      t.true(elu.utilization < MAX_UTILIZATION, `${phase.name}: the event loop was busy ${(elu.utilization * 100).toFixed(0)}% of the time`);
    }
  } finally {
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
