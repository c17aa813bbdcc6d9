// HTTP Basic (RFC 7617): the credentials of a request's Authorization header. The lab logins that
// use them (the upload area, the instructors' capture download) check them through core/auth.ts and
// its throttle.
import type { HttpExchange } from './exchange.js';

/** HTTP Basic credentials of the request, if any (at most 1 KB of header considered). */
export function basicCredentials(ex: HttpExchange): { user: string; password: string } | undefined {
  const h = ex.req.get('authorization');
  if (!h || h.length > 1024) return undefined;
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(h);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
