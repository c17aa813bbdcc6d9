// What the site answers by method alone, the same on every path (RFC 9110 section 9): unknown
// methods 501; CONNECT 405 (an origin server is not a proxy); `OPTIONS *` about the server as a whole;
// OPTIONS on a path with its Allow field; TRACE echoing the request as message/http with credentials
// redacted, or 405 while switched off (the cross-site tracing hazard); 405 with Allow for a method a
// resource does not take.
import type { HttpExchange } from './exchange.js';
import { KNOWN_METHODS } from './limits.js';
import { allowFor } from './routes.js';
import { shownFieldValue } from './secret-fields.js';

/** The methods a file of the document root takes. */
export const STATIC_METHODS: readonly string[] = ['GET'];

export class MethodPolicy {
  /** Allow for the document root's files. */
  readonly staticAllow: string;

  constructor(readonly trace: boolean) {
    this.staticAllow = allowFor(STATIC_METHODS, trace);
  }

  /** Answers what needs no path (unknown methods, rejected requests, CONNECT, `OPTIONS *`); true when it did. */
  answeredBeforeRouting(ex: HttpExchange): boolean {
    const req = ex.req;
    const method = req.method;
    if (!KNOWN_METHODS.has(method)) {
      ex.sendError(501, `the method ${method} is not implemented here (GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE are)`);
      return true;
    }
    if (req.reject) {
      ex.sendError(req.reject.status, req.reject.message);
      return true;
    }
    if (method === 'CONNECT') {
      ex.sendError(405, 'CONNECT is for proxies; this is an origin server', { fields: `Allow: ${this.staticAllow}\r\n` });
      return true;
    }
    if (req.rawPath === '*') {
      // OPTIONS * asks about the server as a whole (RFC 9110 section 9.3.7).
      ex.send(200, `Allow: ${allowFor(['GET', 'POST', 'PUT', 'DELETE'], this.trace)}\r\n`);
      return true;
    }
    return false;
  }

  /** OPTIONS and TRACE on a resource whose methods give `allow`; true when answered. */
  answeredForResource(ex: HttpExchange, allow: string): boolean {
    const method = ex.req.method;
    if (method === 'OPTIONS') {
      ex.send(200, `Allow: ${allow}\r\n`);
      return true;
    }
    if (method !== 'TRACE') return false;
    if (this.trace) traceEcho(ex);
    else
      ex.sendError(405, 'TRACE is switched off (it echoes requests back, the cross-site tracing hazard); services.http.trace turns it on', {
        fields: `Allow: ${allow}\r\n`,
      });
    return true;
  }

  notAllowed(ex: HttpExchange, allow: string): void {
    ex.sendError(405, `${ex.req.method} is not allowed on ${ex.path}`, { fields: `Allow: ${allow}\r\n` });
  }
}

/** TRACE (RFC 9110 section 9.3.8): the request as received, as message/http. */
function traceEcho(ex: HttpExchange): void {
  const req = ex.req;
  let text = `${req.requestLine}\r\n`;
  const f = req.fields;
  for (let i = 0; i < f.length; i += 2) text += `${f[i]}: ${shownFieldValue(f[i], f[i + 1])}\r\n`;
  text += '\r\n';
  ex.send(200, 'Content-Type: message/http\r\n', Buffer.from(text, 'latin1'));
}
