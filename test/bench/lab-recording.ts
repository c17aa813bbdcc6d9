// What the live lab's recording costs per HTTP session, in-process: the events a `Connection: close`
// request publishes (session.open, the request line with its fields, the status line with its head,
// session.close) go through a real EventBus to a real LabHub with nobody following, as under wrk. The
// history is warmed to its bounds first, so the figures include keeping (and collecting) what the
// bounded history retains.
//
// The parent runs the workload in child processes under --trace-gc-nvp and prints, per recorded
// session (medians of --runs): CPU µs, octets allocated, octets promoted to the old space, GC pause µs.
// `--hub off` subscribes a subscriber that does nothing instead (the bus's own share).
//
// `--mode keepalive` records requests (GET, 200) over 50 open sessions instead, their line bounds filled first.
//
//   node build/test/bench/lab-recording.js [--sessions 100000] [--runs 5] [--hub on|off] [--mode close|keepalive]
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { statusText } from '../../core/http/response.js';
import { shownFields, shownHead } from '../../core/http/secret-fields.js';
import { bareHub } from '../lab/bare-hub.js';
import { arg, median } from '../support/bench-util.js';

const SESSIONS = Number(arg('sessions', '100000'));
const RUNS = Number(arg('runs', '5'));
const HUB = arg('hub', 'on');
/** close: a session per request (open, GET, 200, close); keepalive: requests over 50 open sessions (GET, 200). */
const MODE = arg('mode', 'close');
const KEEPALIVE_SESSIONS = 50;
/** With --alloc-top N, one run prints the N functions that allocate most (sampled, collected objects included). */
const ALLOC_TOP = Number(arg('alloc-top', '0'));
/** Sessions published per event-loop turn (the bus drains its queue once per turn). */
const PER_TURN = 20;
const HEAD =
  'HTTP/1.1 200 OK\r\nDate: Fri, 04 Dec 2026 13:00:00 GMT\r\nServer: labnet\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\nLast-Modified: Fri, 04 Dec 2026 12:00:00 GMT\r\nETag: "d-1"\r\nConnection: close\r\n\r\n';

/** A request's header fields as the parser gives them: fresh strings from the octets received. */
const FIELDS = Buffer.from('Host127.0.0.1:8080ConnectioncloseUser-Agentwrk');
function requestFields(): string[] {
  const s = (a: number, b: number): string => FIELDS.toString('latin1', a, b);
  return [s(0, 4), s(4, 18), s(18, 28), s(28, 33), s(33, 43), s(43, 46)];
}

async function child(): Promise<void> {
  const { hub, events } = bareHub(
    { sessions: 500, linesPerSession: 2000, replayEvents: 20_000, maxBytes: 64 << 20, maxBytesPerSession: 1 << 20, dhcpPackets: 5000 },
    500,
  );
  if (HUB === 'on') await hub.start();
  else events.subscribe(() => {}, { maxQueue: 100_000 });
  let n = 0;
  const local = { address: '127.0.0.1', port: 8080 };
  const turn = (): void => {
    for (let i = 0; i < PER_TURN; i++) {
      n++;
      // As core/tcp-server.ts and core/http/session.ts publish them.
      const id = events.nextSessionId('http');
      if (!(events.wants('session.open') && events.recordSession(id))) continue;
      events.publish({ type: 'session.open', service: 'http', session: id, peer: { address: '127.0.0.1', port: 30000 + (n % 30000) }, local, tls: false });
      const line = `GET /index.html?n=${n % 7} HTTP/1.1`;
      if (events.wants('command', id, 'http'))
        events.publish({ type: 'command', service: 'http', session: id, text: line, name: 'GET', payload: shownFields(requestFields()) });
      if (events.wants('reply', id, 'http'))
        events.publish({ type: 'reply', service: 'http', session: id, text: 'HTTP/1.1 200 OK', bytes: HEAD.length + 13, payload: shownHead(HEAD) });
      if (events.wants('session.close'))
        events.publish({
          type: 'session.close',
          service: 'http',
          session: id,
          reason: 'client closed',
          bytesIn: 60,
          bytesOut: HEAD.length + 13,
          durationMs: 0,
        });
    }
  };
  // Keep-alive: KEEPALIVE_SESSIONS connections stay open, each request a GET and a 200 in one of them.
  const open: string[] = [];
  if (MODE === 'keepalive')
    for (let i = 0; i < KEEPALIVE_SESSIONS; i++) {
      const id = events.nextSessionId('http');
      events.recordSession(id);
      events.publish({ type: 'session.open', service: 'http', session: id, peer: { address: '127.0.0.1', port: 30000 + i }, local, tls: false });
      open.push(id);
    }
  const request = (): void => {
    for (let i = 0; i < PER_TURN; i++) {
      n++;
      const id = open[n % open.length];
      if (events.wants('command', id, 'http'))
        events.publish({
          type: 'command',
          service: 'http',
          session: id,
          text: `GET /hello.txt?n=${n % 7} HTTP/1.1`,
          name: 'GET',
          payload: shownFields(requestFields()),
        });
      if (events.wants('reply', id, 'http'))
        events.publish({ type: 'reply', service: 'http', session: id, text: statusText(200), bytes: HEAD.length + 13, payload: shownHead(HEAD) });
    }
  };
  const run = async (count: number): Promise<void> => {
    const end = n + count;
    while (n < end) {
      if (MODE === 'keepalive') request();
      else turn();
      await new Promise<void>((r) => setImmediate(r));
    }
    await events.settled();
  };
  await run(MODE === 'keepalive' ? 120_000 : 10_000); // fills the replay window and the session bound (or the sessions' line bounds)
  const profiler = ALLOC_TOP > 0 ? await startAllocationSampling() : undefined;
  console.log('#measure');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run(SESSIONS);
  const cpu = process.cpuUsage(cpu0);
  const wallNs = Number(process.hrtime.bigint() - t0);
  console.log('#end');
  if (profiler) await profiler();
  const s = hub.getStats();
  console.log(JSON.stringify({ cpuUs: cpu.user + cpu.system, wallNs, sessions: SESSIONS, kept: s.sessions, historyItems: s.historyItems }));
  await hub.stop();
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Starts V8's sampling heap profiler; the function returned stops it and prints the top allocation sites. */
async function startAllocationSampling(): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
    const bySite = new Map<string, number>();
    const walk = (node: ProfileNode): void => {
      const f = node.callFrame;
      const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/build\//, '')}:${f.lineNumber + 1}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      for (const c of node.children) walk(c);
    };
    walk(profile.head);
    const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, ALLOC_TOP);
    for (const [site, bytes] of top) console.log(`#alloc ${(bytes / SESSIONS).toFixed(0).padStart(6)} B/session  ${site}`);
    session.disconnect();
  };
}

interface RunResult {
  cpuUs: number;
  allocated: number;
  promoted: number;
  gcPauseUs: number;
  scavenges: number;
  markCompacts: number;
}

function once(): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--trace-gc-nvp',
        fileURLToPath(import.meta.url),
        '--child',
        '--sessions',
        String(SESSIONS),
        '--hub',
        HUB,
        '--mode',
        MODE,
        '--alloc-top',
        String(ALLOC_TOP),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited ${code}`));
      const part = out.slice(out.indexOf('#measure'), out.indexOf('#end'));
      const r: RunResult = { cpuUs: 0, allocated: 0, promoted: 0, gcPauseUs: 0, scavenges: 0, markCompacts: 0 };
      for (const l of part.split('\n')) {
        const num = (k: string): number => Number(new RegExp(`\\b${k}=([\\d.]+)`).exec(l)?.[1] ?? 0);
        if (!l.includes(' gc=')) continue;
        r.allocated += num('allocated');
        r.promoted += num('promoted');
        r.gcPauseUs += num('pause') * 1000;
        if (/ gc=s /.test(l)) r.scavenges++;
        else r.markCompacts++;
      }
      const json = out
        .slice(out.indexOf('#end'))
        .split('\n')
        .find((l) => l.startsWith('{'));
      for (const l of out.split('\n')) if (l.startsWith('#alloc ')) console.log(l.slice(7));
      r.cpuUs = (JSON.parse(json ?? '{}') as { cpuUs: number }).cpuUs;
      resolve(r);
    });
  });
}

async function main(): Promise<void> {
  const runs: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const per = (f: (r: RunResult) => number): string => (median(runs.map(f)) / SESSIONS).toFixed(2);
  const what = MODE === 'keepalive' ? `requests (GET, 200) over ${KEEPALIVE_SESSIONS} open sessions` : 'HTTP sessions (open, GET, 200, close)';
  console.log(`lab recording, hub ${HUB}: ${SESSIONS} ${what} per run, ${RUNS} runs, medians per ${MODE === 'keepalive' ? 'request' : 'session'}`);
  console.log(
    `  CPU µs ${per((r) => r.cpuUs)}   allocated B ${per((r) => r.allocated)}   promoted B ${per((r) => r.promoted)}   GC pause µs ${per((r) => r.gcPauseUs)}`,
  );
  console.log(`  GCs per run: scavenges ${median(runs.map((r) => r.scavenges))}, mark-compacts ${median(runs.map((r) => r.markCompacts))}`);
}

if (process.argv.includes('--child')) await child();
else await main();
