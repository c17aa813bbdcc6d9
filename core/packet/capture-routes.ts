// `/lab/capture.pcapng` on every HTTP site (through the shared route registry): the recent frames of
// the whole lab as pcapng, with the TLS key log of the recorded connections embedded, for an
// instructor. Protection: HTTP Basic (RFC 7617) with the login of an account named in `instructors`;
// further authorizers (the live lab's login cookie) can be added.
import type { Accounts } from '../auth.js';
import type { EventBus } from '../events.js';
import { basicCredentials } from '../http/basic-auth.js';
import type { HttpExchange } from '../http/exchange.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import type { PacketCapture } from './packet-capture.js';

export const CAPTURE_PCAPNG_PATH = '/lab/capture.pcapng';

/**
 * Returns the instructor's account name when the request is an instructor's, else undefined (a
 * promise when it checks a password: scrypt runs on the thread pool).
 */
export type InstructorAuthorizer = (ex: HttpExchange) => string | undefined | Promise<string | undefined>;

const REALM = 'Basic realm="labnet instructors", charset="UTF-8"';

/** How long a refused request's 401 waits (core/throttle.ts), set by the Basic authorizer. */
const failureDelay = new WeakMap<HttpExchange, number>();

/** The Basic authorizer: a lab login whose account is listed in `instructors`. */
export function basicInstructorAuthorizer(accounts: Accounts, instructors: () => readonly string[], events: EventBus): InstructorAuthorizer {
  return async (ex) => {
    const cred = basicCredentials(ex);
    if (!cred) return undefined;
    // core/throttle.ts: an address that keeps guessing is refused unchecked; a wrong password's 401
    // waits for its slot (failureDelay).
    const peer = ex.conn.peer.address;
    if (accounts.throttle.refusal(peer, cred.user)) {
      failureDelay.set(ex, accounts.throttle.config.maxDelayMs);
      return undefined;
    }
    const result = await accounts.verifyAsync(cred.user, cred.password);
    if (result.ok) accounts.throttle.succeeded(cred.user);
    else failureDelay.set(ex, accounts.throttle.failed(peer, cred.user));
    const user = result.ok ? result.user! : cred.user.slice(0, 64);
    const instructor = result.ok && instructors().some((i) => i.toLowerCase() === user);
    events.publish({ type: 'auth', service: ex.conn.service, session: ex.conn.id, user, ok: result.ok, mechanism: 'Basic' });
    return instructor ? user : undefined;
  };
}

export function addCaptureRoutes(routes: HttpRouteRegistry, capture: PacketCapture, authorizers: readonly InstructorAuthorizer[]): void {
  routes.add({
    path: CAPTURE_PCAPNG_PATH,
    methods: ['GET'],
    description: 'the recent frames of the whole lab as pcapng with the TLS keys embedded (instructors: HTTP Basic with your lab login)',
    handler: async (ex) => {
      let who: string | undefined;
      for (const a of authorizers) {
        who = await a(ex);
        if (who) break;
      }
      if (!who) {
        const refuse = (): void =>
          ex.sendError(401, 'an instructor login is needed (HTTP Basic with an account listed under instructors)', {
            fields: `WWW-Authenticate: ${REALM}\r\n`,
          });
        const wait = failureDelay.get(ex) ?? 0;
        if (wait > 0) setTimeout(() => ex.conn.closed || refuse(), wait);
        else refuse();
        return;
      }
      const file = capture.pcapng();
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      ex.send(
        200,
        `Content-Type: application/x-pcapng\r\nContent-Disposition: attachment; filename="labnet-capture-${stamp}.pcapng"\r\nCache-Control: no-store\r\n`,
        file,
      );
    },
  });
}
