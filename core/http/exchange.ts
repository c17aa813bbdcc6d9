// One request and its response. Route handlers get an HttpExchange: the parsed request, the decoded
// path, `readBody` (which sends 100 Continue when the client waits for it, RFC 9110 section 10.1.1)
// and the one response path, which writes the head and body with one writev (cork/uncork) and
// publishes the status line as a reply event when someone listens.
import type { Connection } from '../connection.js';
import type { EventBus } from '../events.js';
import { readRequestBody, type BodyResult, type BodySink } from './body.js';
import type { HttpLimits } from './limits.js';
import type { HttpRequest } from './request-parser.js';
import { commonFields, connectionField, statusLine, statusText, STATUS_TEXT } from './response.js';
import { shownHead } from './secret-fields.js';

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export class HttpExchange {
  /** Response sent (head written). */
  responded = false;
  /** The request body has been read to its end (or there was none). */
  bodyDone: boolean;
  continueSent = false;
  /** The connection closes after this response. */
  closeAfter: boolean;
  /** Status sent (0 before). */
  status = 0;
  /**
   * The bus's time as the request arrived (EventBus.time), while the handler runs synchronously within
   * that turn; 0 otherwise (after it waited for anything), and whoever needs the time reads the clock.
   * The static path and the status line's recording budget use it: one clock reading per request.
   */
  at = 0;

  constructor(
    readonly conn: Connection,
    readonly req: HttpRequest,
    /** Decoded, normalised path (set by the site before routing; '' when not applicable). */
    public path: string,
    readonly limits: HttpLimits,
    private readonly events: EventBus,
  ) {
    this.bodyDone = !req.hasBody;
    this.closeAfter = !req.keepAlive || conn.closing;
  }

  get isHead(): boolean {
    return this.req.method === 'HEAD';
  }

  /**
   * Reads the request body into `sink` (up to `max` octets). On overflow nothing more is read and the
   * connection is marked to close; the caller answers 413. HttpParseError on malformed chunking.
   */
  async readBody(max: number, sink?: BodySink): Promise<BodyResult> {
    const req = this.req;
    if (req.expectContinue && !this.continueSent && !this.responded && req.hasBody) {
      // Too large already by its Content-Length: answer 413 without inviting the body.
      if (!req.chunked && req.contentLength > max) {
        this.closeAfter = true;
        return { size: req.contentLength, overflow: true, trailers: [] };
      }
      this.continueSent = true;
      this.conn.write(CONTINUE);
    }
    const result = await readRequestBody(this.conn.framer, req.contentLength, req.chunked, max, sink, this.limits);
    if (result.overflow) this.closeAfter = true;
    else this.bodyDone = true;
    return result;
  }

  /**
   * The response can keep the connection open only if the request body is read or can be thrown away:
   * a client waiting for 100 Continue may or may not send the body, so then we close.
   */
  decideKeepAlive(): boolean {
    if (this.closeAfter) return false;
    if (this.bodyDone) return true;
    const req = this.req;
    if ((req.expectContinue && !this.continueSent) || (!req.chunked && req.contentLength > this.limits.maxDiscardBytes)) {
      this.closeAfter = true;
      return false;
    }
    return true;
  }

  /** The head: status line, Server, Date, `fields` (each ending CRLF), Content-Length, Connection. */
  head(status: number, fields: string, contentLength: number): string {
    const keep = this.decideKeepAlive();
    const length = status === 204 || status === 304 || status < 200 ? '' : `Content-Length: ${contentLength}\r\n`;
    return `${statusLine(status)}${commonFields()}${fields}${length}${connectionField(keep, this.req.version)}\r\n`;
  }

  /** Sends a complete response. `body` is not sent for HEAD (its length still is). */
  send(status: number, fields: string, body?: Buffer | string): void {
    const len = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const head = this.head(status, fields, len);
    this.status = status;
    this.responded = true;
    const conn = this.conn;
    if (body === undefined || len === 0 || this.isHead) conn.write(head);
    else if (typeof body === 'string') conn.write(head + body);
    else {
      const socket = conn.socket;
      socket.cork();
      conn.write(head);
      conn.write(body);
      socket.uncork();
    }
    if (this.conn.wants('reply', this.at)) this.replyEvent(status, head.length + (this.isHead ? 0 : len), head);
  }

  /**
   * Writes a prebuilt complete response (the static file fast path); `head` is its head as text, for
   * the reply event (the body is never turned into text).
   */
  sendPrebuilt(status: number, response: Buffer, head: string): void {
    this.status = status;
    this.responded = true;
    this.conn.write(response);
    if (this.conn.wants('reply', this.at)) this.replyEvent(status, response.length, head);
  }

  /** Writes only the head; the caller streams exactly `contentLength` octets after it. */
  sendHead(status: number, fields: string, contentLength: number): void {
    const head = this.head(status, fields, contentLength);
    this.status = status;
    this.responded = true;
    this.conn.write(head);
    if (this.conn.wants('reply', this.at)) this.replyEvent(status, head.length + (this.isHead ? 0 : contentLength), head);
  }

  /**
   * Starts a response whose body runs until the connection closes (server-sent events for /lab): no
   * Content-Length and `Connection: close`, so the end of the connection ends the body (RFC 9112
   * section 6.3, item 8). The caller writes the body on `conn`; when its handler resolves, the engine
   * closes the connection.
   */
  startStream(status: number, fields: string): void {
    this.closeAfter = true;
    const head = `${statusLine(status)}${commonFields()}${fields}Connection: close\r\n\r\n`;
    this.status = status;
    this.responded = true;
    this.conn.write(head);
    if (this.conn.wants('reply', this.at)) this.replyEvent(status, head.length, head);
  }

  /** A small text/plain error body saying what was wrong. */
  sendError(status: number, message: string, options: { close?: boolean; fields?: string } = {}): void {
    if (options.close) this.closeAfter = true;
    const body = `${status} ${STATUS_TEXT[status] ?? 'Error'}: ${message}\n`;
    this.send(status, `${options.fields ?? ''}Content-Type: text/plain; charset=utf-8\r\n`, body);
  }

  /** True when a response for the connection's later requests may follow (the loop goes on). */
  get persistent(): boolean {
    return !this.closeAfter;
  }

  /** `head` is the response head as sent (or more): the event carries its fields, Set-Cookie redacted. */
  private replyEvent(status: number, bytes: number, head?: string): void {
    const { service, id } = this.conn;
    // Two literals rather than a spread: one event object, built once (an event per request).
    if (head === undefined) this.events.publish({ type: 'reply', service, session: id, text: statusText(status), bytes });
    else this.events.publish({ type: 'reply', service, session: id, text: statusText(status), bytes, payload: shownHead(head) });
  }
}
