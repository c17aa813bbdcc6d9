// GET /api/v1/deliveries: a server-sent event stream (HTML Living Standard, "Server-sent events") with
// one `message` event per message delivered, carrying its summary as JSON. The response has no
// Content-Length: it ends when either side closes (Connection: close). A comment line goes out every
// heartbeat so proxies and the site's idle sweep see traffic; a client that stops reading is dropped
// once its backlog passes a cap; at shutdown the stream counts as idle and is closed at once.
import type { HttpExchange } from '../../http/exchange.js';
import { commonFields, statusLine } from '../../http/response.js';
import { MAIL_API_LIMITS } from '../limits.js';
import type { MessageMatcher } from '../match.js';
import type { MailApi } from '../mail-api.js';
import { sendProblem } from './http-json.js';
import { summaryJson } from './message-json.js';

let openStreams = 0;
let nextEventId = 0;

export function openEventStreams(): number {
  return openStreams;
}

export async function serveDeliveryStream(ex: HttpExchange, mail: MailApi, matcher: MessageMatcher): Promise<void> {
  if (openStreams >= MAIL_API_LIMITS.maxEventStreams) {
    sendProblem(ex, 503, 'TOO_MANY_STREAMS', `at most ${MAIL_API_LIMITS.maxEventStreams} delivery streams at once; close one first`, 'Retry-After: 5\r\n');
    return;
  }
  const conn = ex.conn;
  ex.responded = true;
  ex.status = 200;
  ex.closeAfter = true;
  conn.write(
    `${statusLine(200)}${commonFields()}Content-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n`,
  );
  if (ex.isHead) return;
  openStreams++;
  const scope = matcher.scope;
  const send = (text: string): void => {
    if (conn.closed) return;
    conn.write(text);
    if (conn.socket.writableLength > MAIL_API_LIMITS.maxStreamBacklogBytes) conn.destroy('delivery stream: the client stopped reading');
  };
  // The reconnection delay a client's EventSource should use, and a first comment so it sees the stream open.
  send('retry: 2000\n: labnet delivery stream\n\n');
  const off = mail.onMessage((loc) => {
    if (scope.users !== undefined && !scope.users.includes(loc.user)) return;
    if (scope.folder !== '*' && scope.folder !== loc.folder) return;
    if (!matcher.index(loc.info)) return;
    nextEventId++;
    send(`event: message\nid: ${nextEventId}\ndata: ${JSON.stringify(summaryJson(loc.user, loc.folder, loc.info))}\n\n`);
  });
  const every = Math.max(1000, Math.min(MAIL_API_LIMITS.heartbeatMs, Math.floor(ex.limits.keepAliveTimeoutMs / 2)));
  const heartbeat = setInterval(() => send(': heartbeat\n\n'), every);
  heartbeat.unref();
  // Nothing more is read from this connection: at shutdown it may close at once.
  conn.markIdle(true);
  await new Promise<void>((resolve) => conn.onClose(() => resolve()));
  clearInterval(heartbeat);
  off();
  openStreams--;
}
