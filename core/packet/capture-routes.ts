// `/lab/capture.pcapng` on every HTTP site (through the shared route registry): the recent frames of
// the whole lab as pcapng, with the TLS key log of the recorded connections embedded, for an
// instructor. Protection: HTTP Basic (RFC 7617) with the login of an account named in `instructors`;
// further authorizers (the live lab's login cookie) can be added.
import type { Accounts } from '../auth.js';
import type { EventBus } from '../events.js';
import { basicLogin } from '../http/basic-auth.js';
import { isThrottled } from '../throttle.js';
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

/**
 * The Basic authorizer: a lab login whose account is listed in `instructors`. The password is always
 * checked, test mode or not (Accounts.checkPasswordAsync), as for the REST API: the capture carries
 * every student's frames and TLS keys. A wrong password is answered after its throttle slot.
 */
export function basicInstructorAuthorizer(accounts: Accounts, instructors: () => readonly string[], events: EventBus): InstructorAuthorizer {
  const isInstructor = (user: string): boolean => instructors().some((i) => i.toLowerCase() === user);
  return async (ex) => {
    const tried = await basicLogin(ex, accounts, events, (l, p) => accounts.checkPasswordAsync(l, p));
    if (tried === undefined || isThrottled(tried.result) || !tried.result.ok) return undefined;
    const user = tried.result.user!;
    return isInstructor(user) ? user : undefined;
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
        ex.sendError(401, 'an instructor login is needed (HTTP Basic with an account listed under instructors)', {
          fields: `WWW-Authenticate: ${REALM}\r\n`,
        });
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
