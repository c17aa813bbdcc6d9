// The packet view's side of the live lab: JSON routes under /lab/api/capture for the page (flows, a
// flow's frames and TCP ladder, one frame in full, the frames of a session or of a DHCP transaction,
// pcapng downloads of a flow or a session), a `flow` item on the lab's event stream whenever a flow
// the viewer may see got new frames (coalesced: at most one per flow per FLOW_TICK_MS), the capture's
// state in the hello snapshot, and the lab login cookie as a way in to /lab/capture.pcapng.
//
// Who sees what follows the dashboard's rules: an instructor everything; a student the flows of the
// sessions the lab shows them, the flows their own machine started (by its address as the client),
// and the DHCP and ARP exchanges of the network card their lease went to; anybody else nothing.
//   GET /lab/api/capture                       status, flows [?all=1: also the lab page's own connections]
//   GET /lab/api/capture/flows/ID[?since=N]    the flow, its frames (after frame N), its TCP ladder
//   GET /lab/api/capture/flows/ID.pcapng       the flow as pcapng (TLS keys embedded)
//   GET /lab/api/capture/sessions/ID.pcapng    a session's frames as pcapng
//   GET /lab/api/capture/frames/N              one frame: layers, fields, encapsulation, hex, TCP analysis
//   GET /lab/api/capture/frames?session=ID | ?mac=MAC[&xid=HEX] | ?arp=ADDRESS   frame lines
import type { EventBus, FrameEvent, Subscription } from '../events.js';
import type { HttpExchange } from '../http/exchange.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import type { LabHub } from '../lab/hub.js';
import { isLabPageRequest, LAB_SECURITY_FIELDS } from '../lab/page.js';
import { viewerOf } from '../lab/routes.js';
import type { Viewer } from '../lab/wire.js';
import type { CaptureScope, PacketCapture } from './packet-capture.js';
import type { FlowSummary } from './views.js';
import type { FlowItem } from './view-types.js';
export type { FlowItem } from './view-types.js';

export const CAPTURE_API = '/lab/api/capture';
/** Flow items go out at most this often per flow; frames arriving together are announced together. */
const FLOW_TICK_MS = 200;
const COALESCE_MS = 20;
/** At most this many flows are announced per tick (a flood of new flows cannot flood the stream). */
const MAX_FLOWS_PER_TICK = 64;
const MAX_FLOWS_LISTED = 300;
const MAX_FRAMES_LISTED = 2000;
const JSON_FIELDS = `Content-Type: application/json\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`;

export interface PacketViewHandle {
  stop(): void;
}

/** What a viewer may see of the capture: undefined for everything (instructors), null for nothing. */
export function scopeOf(hub: LabHub, v: Viewer): CaptureScope | undefined | null {
  if (v.role === 'instructor') return undefined;
  if (v.role !== 'student') return null;
  return {
    sessions: hub.listSessions(v).map((s) => s.id),
    clients: [v.address],
    macs: hub.macsOf(v.address),
  };
}

/** Whether a viewer may see a flow (the stream's per-item rule; the same as the scope above). */
function flowVisible(hub: LabHub, flow: FlowSummary): (v: Viewer) => boolean {
  return (v) => {
    if (v.role === 'instructor') return true;
    if (v.role !== 'student') return false;
    if (flow.session !== undefined && hub.sessionFor(v, flow.session)) return true;
    if (flow.client.address === v.address) return true;
    const macs = flow.kind === 'dhcp' || flow.kind === 'arp' ? hub.macsOf(v.address) : [];
    return macs.some((m) => m === flow.client.mac || m === flow.server.mac);
  };
}

/** Connections that carried a request of the lab page, by session id. */
const MAX_PAGE_SESSIONS = 4096;

/**
 * The lab page's own connections: not listed and not announced unless asked for (`?all=1`), whatever
 * else the browser fetched on them. They are the student's traffic, but it is the tool's, not the
 * exercise's: a student looking for their curl should not have to find it among the page's own
 * connections, and announcing a flow that carries the stream would make frames that announce it
 * again, for ever. A connection that carried a page request is the page's from then on (the hub may
 * count one that later fetched something else as the student's; the packet view does not).
 */
function ownLabFlow(hub: LabHub, flow: FlowSummary, pageSessions: ReadonlySet<string>): boolean {
  if (flow.session === undefined) return false;
  return pageSessions.has(flow.session) || hub.sessionFor({ role: 'instructor', address: '' }, flow.session)?.lab === true;
}

/** How long a new HTTP connection's flow waits for its first request before it is announced anyway. */
const REQUEST_WAIT_MS = 2000;

/** An open HTTP(S) connection to the lab whose first request has not been seen yet (only its handshake). */
function awaitingRequest(flow: FlowSummary, requested: ReadonlySet<string>, now: number): boolean {
  if (flow.kind !== 'tcp' || (flow.service !== 'http' && flow.service !== 'https')) return false;
  if (flow.session !== undefined && requested.has(flow.session)) return false;
  return flow.state !== 'closed' && flow.state !== 'reset' && now - flow.firstTime < REQUEST_WAIT_MS;
}

export function attachPacketView(hub: LabHub, capture: PacketCapture, events: EventBus, routes: HttpRouteRegistry): PacketViewHandle {
  // The lab's login cookie opens /lab/capture.pcapng for an instructor, like HTTP Basic.
  capture.addAuthorizer((ex) => {
    const v = viewerOf(ex, hub);
    return v.role === 'instructor' ? (v.user ?? 'instructor') : undefined;
  });
  hub.addSnapshot('capture', (v) => {
    const s = capture.status();
    return v.role === 'instructor' ? s : { enabled: s.enabled, state: s.state, interface: s.interface };
  });

  const pageSessions = new Set<string>();
  /** HTTP sessions whose first request was seen (until then, whether a connection is the page's is not known). */
  const requested = new Set<string>();
  const remember = (set: Set<string>, session: string): void => {
    set.add(session);
    if (set.size > MAX_PAGE_SESSIONS) set.delete(set.values().next().value as string);
  };
  const commands: Subscription = events.subscribe(
    (e) => {
      if (e.type !== 'command') return;
      if ((e.service === 'http' || e.service === 'https') && !requested.has(e.session)) remember(requested, e.session);
      if (!pageSessions.has(e.session) && isLabPageRequest(e.text)) remember(pageSessions, e.session);
    },
    { types: ['command'], passive: true, maxQueue: 20_000 },
  );

  // Flows with new frames, and when each was last announced: the first frames of a flow go out at
  // once (next COALESCE_MS), later ones at most every FLOW_TICK_MS per flow.
  const dirty = new Map<string, number>();
  const sent = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  const tick = (): void => {
    timer = undefined;
    const now = Date.now();
    let n = 0;
    let next = Infinity;
    for (const [id, lastFrame] of dirty) {
      const due = (sent.get(id) ?? 0) + FLOW_TICK_MS;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      if (n >= MAX_FLOWS_PER_TICK) {
        next = now + COALESCE_MS;
        break;
      }
      const flow = capture.flow(id);
      if (flow && awaitingRequest(flow, requested, now)) {
        // Not announced before its first request says whose it is (the page's, or the student's).
        next = Math.min(next, now + COALESCE_MS);
        continue;
      }
      dirty.delete(id);
      sent.delete(id);
      sent.set(id, now);
      if (sent.size > MAX_FLOWS_PER_TICK * 16) sent.delete(sent.keys().next().value as string);
      if (!flow || ownLabFlow(hub, flow, pageSessions)) continue;
      const item: FlowItem = { ...flow, lastFrame };
      hub.publish('flow', item, flowVisible(hub, flow), 400);
      n++;
    }
    if (next !== Infinity) schedule(next - now);
  };
  const schedule = (delay: number): void => {
    const at = Date.now() + delay;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  const subscription: Subscription = events.subscribe(
    (e) => {
      const f = e as FrameEvent;
      if (!f.flow) return;
      // A bounded map: past the bound, new flows wait for the next tick's room.
      if (dirty.size < MAX_FLOWS_PER_TICK * 16 || dirty.has(f.flow)) dirty.set(f.flow, Math.max(dirty.get(f.flow) ?? 0, f.frame));
      schedule(COALESCE_MS);
    },
    { types: ['frame'], maxQueue: 20_000 },
  );

  const api = (ex: HttpExchange): void => {
    if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') return refuse(ex, 405, `${ex.req.method} is not allowed here`);
    const v = viewerOf(ex, hub);
    const scope = scopeOf(hub, v);
    if (scope === null) return refuse(ex, 401, 'log in to the lab to see your packets');
    const rest = ex.path.slice(CAPTURE_API.length);
    const q = new URLSearchParams(ex.req.query);
    if (rest === '' || rest === '/') {
      const all = q.get('all') === '1';
      const now = Date.now();
      const flows = capture
        .flows(scope ?? undefined, MAX_FLOWS_LISTED * 2)
        .filter((f) => all || (!ownLabFlow(hub, f, pageSessions) && !awaitingRequest(f, requested, now)));
      const s = capture.status();
      const status = v.role === 'instructor' ? s : { enabled: s.enabled, state: s.state, interface: s.interface };
      return sendJson(ex, { viewer: v, status, flows: flows.slice(0, MAX_FLOWS_LISTED) });
    }
    let m = /^\/flows\/(f\d{1,12})\.pcapng$/.exec(rest);
    if (m) {
      if (!capture.flow(m[1], scope ?? undefined)) return refuse(ex, 404, 'no such flow, or it is not yours');
      return sendPcapng(ex, capture.pcapng({ flows: [m[1]], scope: scope ?? undefined }), m[1]);
    }
    m = /^\/sessions\/([A-Za-z0-9._-]{1,64})\.pcapng$/.exec(rest);
    if (m) {
      if (!hub.sessionFor(v, m[1])) return refuse(ex, 404, 'no such session, or it is not yours');
      return sendPcapng(ex, capture.pcapng({ sessions: [m[1]], scope: scope ?? undefined }), m[1]);
    }
    m = /^\/flows\/(f\d{1,12})$/.exec(rest);
    if (m) {
      const flow = capture.flow(m[1], scope ?? undefined);
      if (!flow) return refuse(ex, 404, 'no such flow, or it is not yours (or the capture no longer keeps it)');
      const since = Number(q.get('since') ?? 0);
      const frames = capture.frames({ flow: flow.id, since: Number.isSafeInteger(since) && since > 0 ? since : 0, limit: MAX_FRAMES_LISTED });
      const ladder = flow.kind === 'tcp' ? capture.ladder(flow.id) : undefined;
      return sendJson(ex, { flow, frames, ...(ladder ? { ladder } : {}) });
    }
    m = /^\/frames\/(\d{1,12})$/.exec(rest);
    if (m) {
      const frame = capture.frame(Number(m[1]), scope ?? undefined);
      if (!frame) return refuse(ex, 404, 'no such frame, or it is not yours (or the capture no longer keeps it)');
      return sendJson(ex, frame);
    }
    if (rest === '/frames') {
      const session = q.get('session');
      if (session !== null) {
        if (!hub.sessionFor(v, session)) return refuse(ex, 404, 'no such session, or it is not yours');
        const flows = capture.flowsForSession(session);
        const frames = flows.length > 0 ? capture.frames({ flow: flows[0].id, limit: MAX_FRAMES_LISTED }) : [];
        return sendJson(ex, { flows, frames });
      }
      const mac = q.get('mac');
      if (mac !== null && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
        const xid = q.get('xid') ?? undefined;
        if (xid !== undefined && !/^(0x)?[0-9a-f]{1,8}$/i.test(xid)) return refuse(ex, 400, 'xid is a transaction id in hex');
        if (scope && !scope.macs?.includes(mac.toLowerCase())) return sendJson(ex, { frames: [] });
        return sendJson(ex, { frames: capture.dhcpFrames(mac, xid) });
      }
      const arp = q.get('arp');
      if (arp !== null && arp.length <= 64) {
        const flows = capture.arpExchanges(scope ?? undefined).filter((f) => f.arp?.address === arp || f.client.address === arp);
        const frames = flows.flatMap((f) => capture.frames({ flow: f.id, limit: 50 }));
        return sendJson(ex, { flows, frames });
      }
      return refuse(ex, 400, 'ask for ?session=ID, ?mac=MAC[&xid=HEX] or ?arp=ADDRESS');
    }
    return refuse(ex, 404, `nothing at ${ex.path}`);
  };
  routes.add({ path: CAPTURE_API, methods: ['GET'], handler: api });
  routes.add({ path: `${CAPTURE_API}/`, prefix: true, methods: ['GET'], handler: api });

  return {
    stop() {
      subscription.unsubscribe();
      commands.unsubscribe();
      if (timer) clearTimeout(timer);
      routes.remove(CAPTURE_API);
      routes.remove(`${CAPTURE_API}/`);
    },
  };
}

function sendJson(ex: HttpExchange, value: unknown): void {
  ex.send(200, JSON_FIELDS, JSON.stringify(value));
}

function refuse(ex: HttpExchange, status: number, message: string): void {
  ex.sendError(status, message, { fields: LAB_SECURITY_FIELDS });
}

function sendPcapng(ex: HttpExchange, file: Buffer, name: string): void {
  ex.send(
    200,
    `Content-Type: application/x-pcapng\r\nContent-Disposition: attachment; filename="labnet-${name}.pcapng"\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`,
    file,
  );
}
