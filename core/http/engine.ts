// The HTTP/1.1 engine: runs a session (session.ts) on every connection a listener hands it, for one
// site, and keeps the time limits of all of them with one sweep instead of a timer per connection
// (refreshing a timer on every read and write costs more than the request). HTTP and HTTPS listeners
// share one engine; `start()` before the first connection, `stop()` after the last listener closed.
import type { Connection } from '../connection.js';
import type { EventBus } from '../events.js';
import { LiveList } from '../live-list.js';
import type { HttpLimits } from './limits.js';
import { HttpSession } from './session.js';
import type { HttpSite } from './site.js';

export class HttpEngine {
  /** Open sessions, for the sweep (a linked list, not a Set: see core/live-list.ts). */
  readonly sessions = new LiveList<HttpSession>();
  readonly limits: HttpLimits;
  readonly events: EventBus;
  private sweep: NodeJS.Timeout | undefined;

  constructor(readonly site: HttpSite) {
    this.limits = site.limits;
    this.events = site.events;
  }

  /** Runs the HTTP/1.1 loop on `conn` (plain or TLS); the session closes the connection when done. */
  readonly serve = (conn: Connection): void => {
    new HttpSession(conn, this).start();
  };

  /** Starts the sweep (a quarter of the header timeout apart, between 50 ms and 1 s). */
  start(): void {
    if (this.sweep !== undefined) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.limits.headerTimeoutMs / 4)));
    this.sweep = setInterval(() => this.sweepSessions(Date.now()), every);
    this.sweep.unref();
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
  }

  /**
   * - Slowloris: a head counts from the first sweep that sees part of it buffered; when it is still
   *   not complete after headerTimeoutMs the client gets 408 and the connection closes.
   * - Idle: a connection whose octet counters have not moved for keepAliveTimeoutMs is closed (a
   *   keep-alive client that went quiet, a body that stopped arriving, a reader that stopped reading).
   */
  private sweepSessions(now: number): void {
    const timeout = this.limits.headerTimeoutMs;
    const idle = this.limits.keepAliveTimeoutMs;
    for (const s of this.sessions.toArray()) {
      const conn = s.conn;
      const bi = conn.bytesIn;
      const bo = conn.bytesOut;
      if (bi !== s.seenIn || bo !== s.seenOut) {
        s.seenIn = bi;
        s.seenOut = bo;
        s.quietSince = now;
      } else if (now - s.quietSince >= idle) {
        s.idleTimeout();
        continue;
      }
      if (!s.waitingHead || conn.framer.buffered === 0) {
        s.sweptSeq = -1;
        continue;
      }
      if (s.sweptSeq !== s.headSeq) {
        s.sweptSeq = s.headSeq;
        s.partialSince = now;
      } else if (now - s.partialSince >= timeout) {
        s.sweptSeq = -1;
        s.cutSlowHead();
      }
    }
  }
}
