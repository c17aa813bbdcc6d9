// A lab viewer for tests that are not about the browser: logs in through the /lab form (cookie),
// follows /lab/events with the SSE parser `labnet watch` uses, from a chosen local address (a
// "student machine" on 127.0.0.x), and resumes with Last-Event-ID.
import * as http from 'node:http';
import { SseParser, type SseEvent } from '../../core/lab/sse.js';
import { decodeBatch } from '../../core/lab/wire-codec.js';
import type { HelloData, LineData, SessionSummary } from '../../core/lab/wire.js';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(
  port: number,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; localAddress?: string; host?: string } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        localAddress: options.localAddress,
        headers: { ...(options.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Logs in through the form; resolves with the Cookie header value. */
export async function login(port: number, user: string, password: string, localAddress?: string): Promise<string> {
  const r = await request(port, '/lab/login', {
    method: 'POST',
    body: `user=${encodeURIComponent(user)}&password=${encodeURIComponent(password)}`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: `http://127.0.0.1:${port}`, Host: `127.0.0.1:${port}` },
    localAddress,
  });
  if (r.status !== 303) throw new Error(`login as ${user} failed: ${r.status} ${r.body.slice(0, 200)}`);
  const set = r.headers['set-cookie']?.[0] ?? '';
  return set.split(';')[0];
}

export class LabStreamClient {
  readonly events: SseEvent[] = [];
  raw = '';
  lastId = '';
  private req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;
  private waiters: Array<() => void> = [];
  closed = false;
  status = 0;

  constructor(
    readonly port: number,
    readonly options: {
      cookie?: string;
      localAddress?: string;
      token?: string;
      query?: string;
      /**
       * Fetch each long payload the stream leaves out (LineData.payloadLater) from the transcript, as
       * the browser does when one is unfolded, and fill it into the line once it arrives.
       */
      fetchPayloads?: boolean;
    } = {},
  ) {}

  /** Payload fetches (fetchPayloads) not answered yet. */
  pendingFetches = 0;

  private fillPayload(index: number, line: LineData): void {
    this.pendingFetches++;
    const headers: Record<string, string> = {};
    if (this.options.cookie) headers.Cookie = this.options.cookie;
    void request(this.port, `/lab/api/sessions/${encodeURIComponent(line.session)}/lines/${line.seq}/payload`, { headers }).then(
      (r) => {
        this.pendingFetches--;
        this.wake();
        if (r.status !== 200) return;
        const e = this.events[index];
        this.events[index] = { ...e, data: JSON.stringify({ ...line, payload: (JSON.parse(r.body) as { payload: string }).payload }) };
        this.wake();
      },
      () => {
        this.pendingFetches--;
        this.wake();
      },
    );
  }

  /** Opens the stream (again, with Last-Event-ID when `resume`). */
  open(resume = false): Promise<void> {
    this.closed = false;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (this.options.cookie) headers.Cookie = this.options.cookie;
      if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
      if (resume && this.lastId) headers['Last-Event-ID'] = this.lastId;
      const req = http.get(
        { host: '127.0.0.1', port: this.port, path: `/lab/events${this.options.query ?? ''}`, headers, localAddress: this.options.localAddress, agent: false },
        (res) => {
          this.res = res;
          this.status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          const parser = new SseParser((e) => {
            if (e.lastEventId) this.lastId = e.lastEventId;
            // A batch carries several items in order: the tests look at them one by one.
            if (e.event === 'batch') {
              for (const [event, data] of decodeBatch(JSON.parse(e.data))) {
                this.events.push({ event, data: JSON.stringify(data), lastEventId: e.lastEventId });
                if (event === 'line' && this.options.fetchPayloads && (data as LineData).payloadLater)
                  this.fillPayload(this.events.length - 1, data as LineData);
              }
            } else this.events.push(e);
            this.wake();
          });
          res.on('data', (d: string) => {
            this.raw += d;
            parser.push(d);
          });
          res.on('close', () => {
            this.closed = true;
            this.wake();
          });
          resolve();
        },
      );
      this.req = req;
      req.on('error', (err) => {
        this.closed = true;
        this.wake();
        reject(err);
      });
    });
  }

  /** Stops reading (the socket buffers fill up: a stalled browser). */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
    this.closed = true;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check` holds (re-checked on every event), or throws after timeoutMs. */
  async until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.events.map((e) => e.event).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  of(name: string): SseEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  hello(): HelloData | undefined {
    const h = this.of('hello').at(-1);
    return h ? (JSON.parse(h.data) as HelloData) : undefined;
  }

  lines(session?: string): LineData[] {
    return this.of('line')
      .map((e) => JSON.parse(e.data) as LineData)
      .filter((l) => session === undefined || l.session === session);
  }

  sessions(): Map<string, SessionSummary> {
    const out = new Map<string, SessionSummary>();
    for (const s of this.hello()?.sessions ?? []) out.set(s.id, s);
    for (const e of this.of('session')) {
      const s = JSON.parse(e.data) as SessionSummary;
      out.set(s.id, s);
    }
    for (const e of this.of('forget')) out.delete((JSON.parse(e.data) as { id: string }).id);
    return out;
  }
}

/** Logs in as `user` (from `localAddress` when given), follows /lab/events, and closes the stream when the test ends. */
export async function followAs(
  t: { teardown(fn: () => void): void },
  port: number,
  user: { name: string; password: string },
  localAddress?: string,
  options: { fetchPayloads?: boolean } = {},
): Promise<LabStreamClient> {
  const cookie = await login(port, user.name, user.password, localAddress);
  const stream = new LabStreamClient(port, { cookie, ...(localAddress !== undefined ? { localAddress } : {}), ...options });
  await stream.open();
  t.teardown(() => stream.close());
  return stream;
}

/** A session summary for tests that build history items by hand (an SMTP session from 127.0.0.1 unless told). */
export function summaryOf(over: Partial<SessionSummary> & { id: string }): SessionSummary {
  return {
    service: 'smtp',
    peer: { address: '127.0.0.1', port: 40000 },
    local: { address: '127.0.0.1', port: 25 },
    tls: 'none',
    handshake: false,
    openedAt: 0,
    bytesIn: 0,
    bytesOut: 0,
    lines: 0,
    authFailures: 0,
    ...over,
  };
}
