// The per-connection HTTP/1.1 loop, shared by HTTP and HTTPS: read a head, parse it, let the site
// answer, throw away a body nobody read, and go on while the connection is persistent (RFC 9112
// section 9.3). Requests are handled strictly one after another, so pipelined requests (section 9.3.2)
// get their responses in order. A client that takes longer than the header timeout to send a head
// (slowloris) gets 408 and is closed by a sweep that costs nothing per request.
import type { Connection } from '../connection.js';
import { FramerError } from '../line-framer.js';
import { readRequestBody } from './body.js';
import { HttpExchange } from './exchange.js';
import { HttpParseError, HttpRequest, parseRequestHead } from './request-parser.js';
import type { HttpSite } from './site.js';

export class HttpSession {
  /** Incremented each time the session starts waiting for a head. */
  headSeq = 0;
  waitingHead = false;
  /** Sweep bookkeeping: which head the sweep saw as partial, and since when. */
  sweptSeq = -1;
  partialSince = 0;

  constructor(
    readonly conn: Connection,
    readonly site: HttpSite,
  ) {}

  async run(): Promise<void> {
    const { conn, site } = this;
    const limits = site.limits;
    const events = site.events;
    site.sessions.add(this);
    try {
      for (;;) {
        this.headSeq++;
        this.waitingHead = true;
        let head: Buffer | null;
        try {
          head = await conn.readHead(limits.maxHeadBytes);
        } catch (err) {
          if (!(err instanceof FramerError)) throw err;
          this.waitingHead = false;
          this.headTooLarge();
          return;
        } finally {
          this.waitingHead = false;
        }
        if (head === null) return;
        const parsed = parseRequestHead(head, limits);
        if (parsed === null) continue;
        if (parsed instanceof HttpParseError) {
          if (events.active) events.publish({ type: 'command', service: conn.service, session: conn.id, text: firstLine(head) });
          // The framing of whatever follows is unknown: answer and close.
          const ex = new HttpExchange(conn, fallbackRequest(head), '', limits, events);
          ex.sendError(parsed.status, parsed.message, { close: true });
          return;
        }
        if (events.active) events.publish({ type: 'command', service: conn.service, session: conn.id, text: parsed.requestLine, name: parsed.method });
        const ex = new HttpExchange(conn, parsed, '', limits, events);
        try {
          const p = site.handle(ex);
          if (p !== undefined) await p;
        } catch (err) {
          if (err instanceof HttpParseError) {
            if (!ex.responded) ex.sendError(err.status, err.message, { close: true });
            return;
          }
          if (!ex.responded && !conn.closed) ex.sendError(500, 'the server failed while answering this request', { close: true });
          throw err;
        }
        if (!ex.responded) ex.sendError(500, 'no response was produced', { close: true });
        if (ex.closeAfter || conn.closed) return;
        if (!ex.bodyDone) {
          // Read and discard the body nobody wanted, so the next request starts at the right octet.
          try {
            const r = await readRequestBody(conn.framer, parsed.contentLength, parsed.chunked, limits.maxDiscardBytes, undefined, limits);
            if (r.overflow) return;
          } catch {
            return;
          }
        }
        if (conn.closing) return;
        if (conn.socket.writableNeedDrain) await conn.drain();
      }
    } finally {
      site.sessions.delete(this);
    }
  }

  /** The head passed the size limit: 414 if the request line alone is too long, else 431. */
  private headTooLarge(): void {
    const { conn, site } = this;
    const rest = conn.framer.takeBuffered();
    const lf = rest.indexOf(0x0a);
    const lineTooLong = lf < 0 ? rest.length > site.limits.maxRequestLineBytes : lf > site.limits.maxRequestLineBytes;
    const ex = new HttpExchange(conn, fallbackRequest(rest.subarray(0, 256)), '', site.limits, site.events);
    if (lineTooLong) ex.sendError(414, `request line longer than ${site.limits.maxRequestLineBytes} octets`, { close: true });
    else ex.sendError(431, `request header section larger than ${site.limits.maxHeadBytes} octets`, { close: true });
  }

  /** Called by the sweep when this session's head has been arriving for too long. */
  cutSlowHead(): void {
    const ex = new HttpExchange(this.conn, fallbackRequest(Buffer.alloc(0)), '', this.site.limits, this.site.events);
    ex.sendError(408, `the request header did not arrive within ${Math.round(this.site.limits.headerTimeoutMs / 1000)} s`, { close: true });
    this.conn.close('header timeout');
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

/** Runs the HTTP/1.1 engine on one connection (plain or TLS) for `site`. */
export function serveHttp(conn: Connection, site: HttpSite): Promise<void> {
  return new HttpSession(conn, site).run();
}
