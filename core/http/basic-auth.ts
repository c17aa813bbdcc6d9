// HTTP Basic (RFC 7617) for the lab logins that use it: the upload area (PUT and DELETE), the
// instructors' capture download and the REST API. One parser of the Authorization header, and one
// check through core/auth.ts and its throttle (a wrong password answered after its slot, an address
// that keeps guessing refused), which publishes the `auth` event the lab shows.
import type { Accounts, AuthResult } from '../auth.js';
import type { EventBus } from '../events.js';
import { isThrottled, type Throttled } from '../throttle.js';
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

export interface BasicLogin {
  /** The login as sent (at most 64 characters kept), for messages and events. */
  login: string;
  result: AuthResult | Throttled;
}

/**
 * Checks the request's Basic credentials with `check` through the accounts' throttle; undefined when
 * it carries none. Publishes an `auth` event for every checked attempt (not for a throttled one);
 * `granted` says whether a right password also grants what was asked (the REST API: an instructor),
 * by default any right password.
 */
export async function basicLogin(
  ex: HttpExchange,
  accounts: Accounts,
  events: EventBus | undefined,
  check: (login: string, password: string) => Promise<AuthResult>,
  granted: (user: string) => boolean = () => true,
): Promise<BasicLogin | undefined> {
  const cred = basicCredentials(ex);
  if (!cred) return undefined;
  const result = await accounts.throttle.attempt(ex.conn.peer.address, cred.user, () => check(cred.user, cred.password));
  const login = cred.user.slice(0, 64);
  if (!isThrottled(result) && events?.wants('auth') === true) {
    const user = result.ok ? result.user! : login;
    events.publish({ type: 'auth', service: ex.conn.service, session: ex.conn.id, user, ok: result.ok && granted(user), mechanism: 'Basic' });
  }
  return { login, result };
}
