// The per-connection HTTP/1.1 loop, the same over every transport and over TLS: read a head, parse
// it, let the site answer, throw away a body nobody read, and go on while the connection is persistent
// (RFC 9112 section 9.3). Requests are handled strictly one after another, so pipelined requests
// (section 9.3.2) get their responses in order. Timeouts are not kept here: the engine's sweep
// (engine.ts) calls `idleTimeout` and `cutSlowHead`.
import type { Connection } from '../connection.js';
import type { LiveLinks } from '../live-list.js';
import { FramerError } from '../line-framer.js';
import { readRequestBody } from './body.js';
import type { HttpEngine } from './engine.js';
import { HttpExchange } from './exchange.js';
import { HttpParseError, HttpRequest, parseRequestHead } from './request-parser.js';
import { shownFields } from './secret-fields.js';

const NEXT = 1;
const CLOSE = 2;
type Step = typeof NEXT | typeof CLOSE;

export class HttpSession implements LiveLinks<HttpSession> {
  liveNext: HttpSession | undefined = undefined;
  livePrev: HttpSession | undefined = undefined;
  liveIn: object | undefined = undefined;
  /** Incremented each time the session starts waiting for a new head. */
  headSeq = 0;
  waitingHead = false;
  /** Sweep bookkeeping: which head the sweep saw as partial, and since when. */
  sweptSeq = -1;
  partialSince = 0;
  /** Idle bookkeeping for the sweep: octet counters last seen and since when they have not moved. */
  seenIn = -1;
  seenOut = -1;
  quietSince = 0;
  private finished = false;
  /** The last response refused something (status >= 400): close gently. */
  private lingering = false;

  constructor(
    readonly conn: Connection,
    readonly engine: HttpEngine,
  ) {}

  /**
   * Runs until the connection should close, then closes it (or reports a failure through
   * `conn.fail`). The loop is driven by the framer's callbacks: a request whose head is complete is
   * answered inside the 'data' event that completed it, and a promise is only involved when a
   * handler really waits (file lookups, bodies, large files).
   */
  start(): void {
    this.engine.sessions.add(this);
    this.pump();
  }

  private finish(err?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.waitingHead = false;
    const conn = this.conn;
    if (this.lingering && !conn.framer.inputEnded && !conn.closed) {
      // Lingering close (RFC 9112 section 9.6): the client may still be sending a body we refused;
      // keep reading and dropping it until the connection ends, so that the kernel does not answer
      // with a reset that could destroy the error response before the client reads it.
      conn.framer.detach();
      conn.socket.on('data', () => {});
      conn.socket.resume();
    }
    this.engine.sessions.delete(this);
    // Close right behind the last response, in the same tick as its write: a server that closes first
    // keeps the TIME_WAIT state on its side, so the client's ports do not pile up (what Connection:
    // close traffic runs into). Nothing refused and nothing unread: close at once (the raw transport
    // then skips waiting for the client's FIN, as nginx skips its lingering close when no more input
    // is pending). A failure goes to the server, which logs it and sends the error reply.
    if (err !== undefined) conn.fail(err);
    else if (!conn.closed) conn.close(conn.closing ? 'server shutdown' : 'session ended', !this.lingering && conn.framer.buffered === 0);
  }

  private readonly pump = (): void => {
    const { conn, engine } = this;
    const framer = conn.framer;
    const max = engine.limits.maxHeadBytes;
    try {
      for (;;) {
        if (this.finished) return;
        if (conn.closed || (conn.closing && framer.buffered === 0)) return this.finish();
        let head: Buffer | undefined;
        try {
          head = framer.tryReadHead(max);
        } catch (err) {
          if (!(err instanceof FramerError)) throw err;
          this.waitingHead = false;
          this.lingering = true;
          this.headTooLarge();
          return this.finish();
        }
        if (head === undefined) {
          if (framer.inputEnded) return this.finish();
          if (!this.waitingHead) {
            this.waitingHead = true;
            this.headSeq++;
          }
          conn.markIdle(framer.buffered === 0);
          framer.onReadable(this.pump);
          return;
        }
        this.waitingHead = false;
        conn.markIdle(false);
        const step = this.handleHead(head);
        if (step === CLOSE) return this.finish();
        if (step !== NEXT) {
          step.then(
            (s) => (s === NEXT ? this.pump() : this.finish()),
            (err: unknown) => this.finish(err),
          );
          return;
        }
        if (conn.socket.writableNeedDrain) {
          void conn.drain().then(this.pump);
          return;
        }
      }
    } catch (err) {
      this.finish(err);
    }
  };

  /** Parses and answers one request; a promise when the answer waits for something. */
  private handleHead(head: Buffer): Step | Promise<Step> {
    const { conn, engine } = this;
    const limits = engine.limits;
    const events = engine.events;
    const parsed = parseRequestHead(head, limits);
    if (parsed === null) return NEXT;
    // The one clock reading of a request: its line's and status line's recording budget, the file
    // cache's freshness and the Date field (see HttpExchange.at).
    const now = events.time();
    if (parsed instanceof HttpParseError) {
      if (conn.wants('command', now)) events.publish({ type: 'command', service: conn.service, session: conn.id, text: firstLine(head), time: now });
      // The framing of whatever follows is unknown: answer and close.
      const ex = new HttpExchange(conn, fallbackRequest(head), '', limits, events);
      ex.sendError(parsed.status, parsed.message, { close: true });
      this.lingering = true;
      return CLOSE;
    }
    if (conn.wants('command', now))
      events.publish({
        type: 'command',
        service: conn.service,
        session: conn.id,
        text: parsed.requestLine,
        name: parsed.method,
        payload: shownFields(parsed.fields),
        time: now,
      });
    const ex = new HttpExchange(conn, parsed, '', limits, events);
    ex.at = now;
    let p: void | Promise<void>;
    try {
      p = engine.site.handle(ex);
    } catch (err) {
      return this.failed(ex, err);
    }
    // What the handler does once it has waited for something reads the clock afresh.
    ex.at = 0;
    if (p !== undefined) {
      return p.then(
        () => this.afterResponse(ex),
        (err: unknown) => this.failed(ex, err),
      );
    }
    return this.afterResponse(ex);
  }

  private failed(ex: HttpExchange, err: unknown): Step {
    this.lingering = true;
    if (err instanceof HttpParseError) {
      if (!ex.responded) ex.sendError(err.status, err.message, { close: true });
      return CLOSE;
    }
    if (!ex.responded && !this.conn.closed) ex.sendError(500, 'the server failed while answering this request', { close: true });
    throw err;
  }

  private afterResponse(ex: HttpExchange): Step | Promise<Step> {
    if (!ex.responded) ex.sendError(500, 'no response was produced', { close: true });
    if (ex.status >= 400) this.lingering = true;
    if (ex.closeAfter || this.conn.closed) return CLOSE;
    if (ex.bodyDone) return NEXT;
    // Read and discard the body nobody wanted, so the next request starts at the right octet.
    const req = ex.req;
    return readRequestBody(this.conn.framer, req.contentLength, req.chunked, this.engine.limits.maxDiscardBytes, undefined, this.engine.limits).then(
      (r) => (r.overflow ? CLOSE : NEXT),
      () => CLOSE,
    );
  }

  /** The head passed the size limit: 414 if the request line alone is too long, else 431. */
  private headTooLarge(): void {
    const { conn, engine } = this;
    const limits = engine.limits;
    const rest = conn.framer.takeBuffered();
    const lf = rest.indexOf(0x0a);
    const lineTooLong = lf < 0 ? rest.length > limits.maxRequestLineBytes : lf > limits.maxRequestLineBytes;
    const ex = new HttpExchange(conn, fallbackRequest(rest.subarray(0, 256)), '', limits, engine.events);
    if (lineTooLong) ex.sendError(414, `request line longer than ${limits.maxRequestLineBytes} octets`, { close: true });
    else ex.sendError(431, `request header section larger than ${limits.maxHeadBytes} octets`, { close: true });
  }

  /** Called by the sweep when nothing has moved on the connection for keepAliveTimeoutMs. */
  idleTimeout(): void {
    const conn = this.conn;
    const betweenRequests = this.waitingHead && conn.framer.buffered === 0;
    this.finish();
    if (betweenRequests) conn.close('idle timeout');
    else conn.destroy('idle timeout');
  }

  /** Called by the sweep when this session's head has been arriving for too long. */
  cutSlowHead(): void {
    const limits = this.engine.limits;
    const ex = new HttpExchange(this.conn, fallbackRequest(Buffer.alloc(0)), '', limits, this.engine.events);
    ex.sendError(408, `the request header did not arrive within ${Math.round(limits.headerTimeoutMs / 1000)} s`, { close: true });
    this.conn.close('header timeout');
    this.lingering = true;
    this.finish();
  }
}

function firstLine(head: Buffer): string {
  const s = head.toString('latin1', 0, Math.min(head.length, 200));
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).replace(/\r$/, '');
}

/** A stand-in request for answering something that did not parse (HTTP/1.1, closing). */
function fallbackRequest(head: Buffer): HttpRequest {
  const r = new HttpRequest();
  r.requestLine = firstLine(head);
  r.keepAlive = false;
  return r;
}
