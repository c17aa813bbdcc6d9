// Who may use the REST API: a client with the API token (`Authorization: Bearer TOKEN`, config key
// `api.token`) or an instructor (`instructors: [...]`) with their lab password over HTTP Basic
// (RFC 7617). Neither configured: the API is off. The token is compared in constant time; a failed
// attempt waits before the answer; Basic logins are published as `auth` events like any other login.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Accounts } from '../../auth.js';
import type { LabnetConfig } from '../../config.js';
import type { EventBus } from '../../events.js';
import type { HttpExchange } from '../../http/exchange.js';
import { basicLogin } from '../../http/basic-auth.js';
import { isThrottled } from '../../throttle.js';
import { MAIL_API_LIMITS } from '../limits.js';
import { sendProblem } from './http-json.js';

export interface ApiAuthDeps {
  config: LabnetConfig;
  accounts: Accounts;
  events: EventBus;
}

export function apiEnabled(config: LabnetConfig): boolean {
  return config.api.token !== '' || config.instructors.length > 0;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function challenges(config: LabnetConfig): string {
  const out: string[] = [];
  if (config.api.token !== '') out.push('WWW-Authenticate: Bearer realm="labnet API"\r\n');
  if (config.instructors.length > 0) out.push('WWW-Authenticate: Basic realm="labnet API", charset="UTF-8"\r\n');
  return out.join('');
}

/** True when the request may use the API; otherwise it has been answered (401) and false returned. */
export async function authorize(ex: HttpExchange, deps: ApiAuthDeps): Promise<boolean> {
  const { config } = deps;
  const header = ex.req.get('authorization') ?? '';
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const credentials = space < 0 ? '' : header.slice(space + 1).trim();
  let why: string;
  if (scheme === 'bearer' && config.api.token !== '') {
    if (sameSecret(credentials, config.api.token)) return true;
    why = 'the bearer token is not the API token (api.token)';
  } else if (scheme === 'basic' && config.instructors.length > 0) {
    const isInstructor = (user: string): boolean => config.instructors.some((i) => i.toLowerCase() === user);
    // The password is checked in test mode too (checkPasswordAsync): the API reads everyone's mail.
    const tried = await basicLogin(ex, deps.accounts, deps.events, (l, p) => deps.accounts.checkPasswordAsync(l, p), isInstructor);
    // Basic credentials that do not decode to login:password are a failed login too (shown as one).
    if (tried === undefined && deps.events.wants('auth'))
      deps.events.publish({ type: 'auth', service: ex.conn.service, session: ex.conn.id, user: '', ok: false, mechanism: 'Basic' });
    const result = tried?.result ?? { ok: false };
    if (isThrottled(result)) {
      sendProblem(
        ex,
        429,
        'THROTTLED',
        'too many failed logins from your address, try again later',
        `Retry-After: ${Math.ceil(result.retryAfterMs / 1000)}\r\n`,
      );
      return false;
    }
    if (result.ok && isInstructor(result.user!)) return true;
    why = result.ok ? `${tried!.login} is not an instructor (instructors in the config)` : 'wrong login or password';
  } else {
    const ways = [
      config.api.token !== '' ? 'Authorization: Bearer <api.token>' : '',
      config.instructors.length > 0 ? "HTTP Basic with an instructor's lab login" : '',
    ]
      .filter(Boolean)
      .join(' or ');
    why = `this API needs ${ways}`;
  }
  if (header !== '') await new Promise((r) => setTimeout(r, MAIL_API_LIMITS.failedLoginDelayMs));
  sendProblem(ex, 401, 'UNAUTHORIZED', why, challenges(config));
  return false;
}
