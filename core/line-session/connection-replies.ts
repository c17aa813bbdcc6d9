// Replies the connection layer sends without a command: the idle timeout, the server shutting down,
// too many connections, an internal error. A line service gives their texts (from its reply
// catalogue) and gets the listener hooks, which publish each as a reply event like every other reply.
import type { Connection } from '../connection.js';
import type { EventBus } from '../events.js';

export interface ConnectionReplyTexts {
  /** Sent before closing on the idle timeout (POP3 has none: RFC 1939 section 3). */
  idle?: () => string;
  /** Sent to a session closed at shutdown while it waits for its next command. */
  shutdown?: () => string;
  /** Sent to a client refused because a connection cap is reached. */
  busy?: () => string;
  /** Sent when a session fails inside the server. */
  error?: () => string;
}

export interface ConnectionReplyHooks {
  idleReply?: (conn: Connection) => string;
  shutdownReply?: (conn: Connection) => string;
  busyReply?: () => string;
  errorReply?: (conn: Connection) => string;
}

export function connectionReplies(events: EventBus, service: string, texts: ConnectionReplyTexts): ConnectionReplyHooks {
  const sent = (session: string, text: string, recorded = true): string => {
    if (recorded && events.wants('reply', session, service)) events.publish({ type: 'reply', service, session, text });
    return `${text}\r\n`;
  };
  const { idle, shutdown, busy, error } = texts;
  return {
    ...(idle ? { idleReply: (conn: Connection) => sent(conn.id, idle(), conn.recorded) } : {}),
    ...(shutdown ? { shutdownReply: (conn: Connection) => sent(conn.id, shutdown(), conn.recorded) } : {}),
    ...(error ? { errorReply: (conn: Connection) => sent(conn.id, error(), conn.recorded) } : {}),
    // A refused connection never gets a session; its reply event names a fresh id of its own.
    ...(busy ? { busyReply: () => sent(events.wants('reply') ? events.nextSessionId(service) : '', busy()) } : {}),
  };
}
