// The /lab routes, on every HTTP site (HTTP and HTTPS) through the shared route registry:
//   GET  /lab                     the page (login form, or who is logged in)
//   POST /lab/login, /lab/logout  form posts; the session cookie is HttpOnly, SameSite=Strict, Secure over TLS
//   GET  /lab/events              the live stream (server-sent events; Last-Event-ID resumes)
//   GET  /lab/api/sessions[?service=&user=&address=], /lab/api/sessions/ID, /lab/api/sessions/ID/tls,
//        /lab/api/sessions/ID/lines/SEQ/payload (a long payload the stream left out)
//   GET  /lab/api/http, /lab/api/dhcp, /lab/api/stats (instructors)
//   POST /lab/api/pin             {"session": ID|null} (instructors)
//   GET  /lab/app.js, /lab/app.css (the bundled browser code)
// Every answer carries a strict Content-Security-Policy; POSTs must come from this origin.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HttpExchange } from '../http/exchange.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import { projectPath } from '../paths.js';
import type { LabHub } from './hub.js';
import { LabLogins, parseForm } from './logins.js';
import { LAB_SECURITY_FIELDS, labPage } from './page.js';
import { plainAddress } from './session-record.js';
import { LabStream } from './stream.js';
import type { Viewer } from './wire.js';

const JSON_FIELDS = `Content-Type: application/json\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`;
const MAX_FORM = 4096;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The bundled browser code in build/lab-ui/ (made by core/postbuild.ts), read once. */
class Assets {
  private cache = new Map<string, Asset | null>();

  get(name: string): Asset | undefined {
    if (!this.cache.has(name)) {
      let asset: Asset | null;
      try {
        const body = readFileSync(projectPath('build', 'lab-ui', name));
        const type = name.endsWith('.js')
          ? 'text/javascript; charset=utf-8'
          : name.endsWith('.css')
            ? 'text/css; charset=utf-8'
            : name.endsWith('.map')
              ? 'application/json'
              : 'application/octet-stream';
        asset = { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
      } catch {
        asset = null;
      }
      this.cache.set(name, asset);
    }
    return this.cache.get(name) ?? undefined;
  }

  /** A tag that changes when the bundle does. */
  version(): string {
    const js = this.get('app.js');
    const css = this.get('app.css');
    return `${js?.etag.slice(1, 9) ?? '0'}${css?.etag.slice(1, 5) ?? '0'}`;
  }
}

const ASSET_NAMES = new Set(['app.js', 'app.css', 'app.js.map', 'app.css.map']);

export function addLabRoutes(routes: HttpRouteRegistry, hub: LabHub): void {
  const assets = new Assets();
  routes.add({
    path: '/lab',
    methods: ['GET'],
    description: 'the live lab: your own SMTP, POP3, IMAP, HTTP, TLS and DHCP exchanges as they happen',
    handler: (ex) => sendPage(ex, hub, assets, viewerOf(ex, hub)),
  });
  routes.add({
    path: '/lab/',
    prefix: true,
    methods: ['GET', 'POST'],
    handler: (ex) => dispatch(ex, hub, assets),
  });
}

/** Who is asking: a logged-in student or instructor, `labnet watch` with its token, or anybody. */
export function viewerOf(ex: HttpExchange, hub: LabHub): Viewer {
  const address = plainAddress(ex.conn.peer.address);
  const auth = ex.req.get('authorization');
  if (auth?.startsWith('Bearer ') && hub.isWatchToken(auth.slice(7).trim())) return { role: 'instructor', user: 'labnet-watch', address };
  const found = hub.logins.fromCookie(ex.req.get('cookie'));
  if (found) return { role: found.login.role, user: found.login.user, address };
  return { role: 'anonymous', address };
}

function sendPage(ex: HttpExchange, hub: LabHub, assets: Assets, viewer: Viewer, status = 200, extra = '', error?: string, user?: string): void {
  const html = labPage({ viewer, hostname: hub.config.hostname, assets: assets.version(), error, user });
  ex.send(status, `Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}${extra}`, html);
}

function sendJson(ex: HttpExchange, status: number, value: unknown): void {
  ex.send(status, JSON_FIELDS, JSON.stringify(value));
}

function refuse(ex: HttpExchange, status: number, message: string): void {
  ex.sendError(status, message, { fields: LAB_SECURITY_FIELDS });
}

/** A POST must come from a page of this origin (the cookie is SameSite=Strict too; this also covers the login form). */
function sameOrigin(ex: HttpExchange): boolean {
  const origin = ex.req.get('origin');
  if (origin === undefined) return ex.req.get('sec-fetch-site') === undefined || ex.req.get('sec-fetch-site') === 'same-origin';
  const host = ex.req.host;
  return host !== undefined && origin === `${ex.conn.isTls ? 'https' : 'http'}://${host}`;
}

async function readText(ex: HttpExchange, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  const body = await ex.readBody(max, (c) => {
    chunks.push(Buffer.from(c));
  });
  if (body.overflow) return undefined;
  return Buffer.concat(chunks).toString('utf8');
}

async function dispatch(ex: HttpExchange, hub: LabHub, assets: Assets): Promise<void> {
  const path = ex.path;
  const method = ex.req.method;
  const rest = path.slice('/lab/'.length);
  if (rest === '' && method !== 'POST') return sendPage(ex, hub, assets, viewerOf(ex, hub));
  if (ASSET_NAMES.has(rest) && method !== 'POST') return sendAsset(ex, assets, rest);
  if (method === 'POST') {
    if (!sameOrigin(ex)) return refuse(ex, 403, 'this form must be sent from the lab page of this server');
    if (rest === 'login') return login(ex, hub, assets);
    if (rest === 'logout') return logout(ex, hub);
    if (rest === 'api/pin') return pin(ex, hub);
    return refuse(ex, 405, `POST is not allowed on ${path}`);
  }
  const viewer = viewerOf(ex, hub);
  if (rest === 'events') return events(ex, hub, viewer);
  if (rest === 'api/sessions') {
    const q = new URLSearchParams(ex.req.query);
    const filter = { service: q.get('service') ?? undefined, user: q.get('user') ?? undefined, address: q.get('address') ?? undefined };
    return sendJson(ex, 200, { viewer, sessions: hub.listSessions(viewer, filter) });
  }
  const p = /^api\/sessions\/([A-Za-z0-9._-]{1,64})\/lines\/(\d{1,15})\/payload$/.exec(rest);
  if (p) {
    const payload = hub.linePayload(viewer, p[1], Number(p[2]));
    if (payload === undefined) return refuse(ex, 404, 'no such line with a payload, or it is not yours (or no longer kept)');
    return sendJson(ex, 200, { payload });
  }
  const m = /^api\/sessions\/([A-Za-z0-9._-]{1,64})(\/tls)?$/.exec(rest);
  if (m) {
    if (m[2]) {
      const h = hub.handshake(viewer, m[1]);
      if (h === undefined) return refuse(ex, 404, 'no such session, or it is not yours');
      if (h === 'none') return refuse(ex, 404, 'no TLS handshake was recorded for this session');
      return sendJson(ex, 200, h);
    }
    const t = hub.transcript(viewer, m[1]);
    if (!t) return refuse(ex, 404, 'no such session, or it is not yours');
    return sendJson(ex, 200, t);
  }
  if (rest === 'api/http') return sendJson(ex, 200, { requests: hub.httpLog(viewer) });
  if (rest === 'api/dhcp') {
    const hello = hub.hello(viewer);
    return sendJson(ex, 200, hello.dhcp);
  }
  if (rest === 'api/stats') {
    if (viewer.role !== 'instructor') return refuse(ex, 403, 'for instructors');
    return sendJson(ex, 200, hub.getStats());
  }
  return refuse(ex, 404, `nothing at ${path}`);
}

function sendAsset(ex: HttpExchange, assets: Assets, name: string): void {
  const a = assets.get(name);
  if (!a) return refuse(ex, 404, `${name} was not built (npm run build makes build/lab-ui/)`);
  const fields = `Content-Type: ${a.type}\r\nETag: ${a.etag}\r\nCache-Control: no-cache\r\n${LAB_SECURITY_FIELDS}`;
  if (ex.req.ifNoneMatch === a.etag) return ex.send(304, fields);
  ex.send(200, fields, a.body);
}

async function login(ex: HttpExchange, hub: LabHub, assets: Assets): Promise<void> {
  const text = await readText(ex, MAX_FORM);
  if (text === undefined) return refuse(ex, 413, 'the login form is at most 4096 octets');
  const form = parseForm(text);
  const user = (form.get('user') ?? '').trim();
  const password = form.get('password') ?? '';
  const address = plainAddress(ex.conn.peer.address);
  const anonymous: Viewer = { role: 'anonymous', address };
  if (user === '' || password === '') return sendPage(ex, hub, assets, anonymous, 400, '', 'Enter your user name and password.', user);
  const r = await hub.logins.login(user, password, address);
  if (!r.ok) {
    if (r.reason === 'throttled')
      return sendPage(ex, hub, assets, anonymous, 429, 'Retry-After: 60\r\n', 'Too many failed logins from this address: wait a minute.', user);
    return sendPage(ex, hub, assets, anonymous, 401, '', 'Wrong user name or password.', user);
  }
  ex.send(303, `Location: /lab\r\nSet-Cookie: ${LabLogins.setCookie(r.token, ex.conn.isTls)}\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`);
}

function logout(ex: HttpExchange, hub: LabHub): void {
  const found = hub.logins.fromCookie(ex.req.get('cookie'));
  if (found) hub.logins.logout(found.token);
  ex.send(303, `Location: /lab\r\nSet-Cookie: ${LabLogins.clearCookie(ex.conn.isTls)}\r\nCache-Control: no-store\r\n${LAB_SECURITY_FIELDS}`);
}

async function pin(ex: HttpExchange, hub: LabHub): Promise<void> {
  const viewer = viewerOf(ex, hub);
  if (viewer.role !== 'instructor') return refuse(ex, 403, 'only instructors pin sessions to the projector');
  const text = await readText(ex, 1024);
  let id: string | undefined;
  try {
    const body = JSON.parse(text ?? '') as { session?: unknown };
    id = typeof body.session === 'string' ? body.session : undefined;
  } catch {
    return refuse(ex, 400, 'send {"session": "smtp-12"} or {"session": null}');
  }
  if (!hub.pin(id)) return refuse(ex, 404, 'no such session');
  ex.send(204, LAB_SECURITY_FIELDS);
}

async function events(ex: HttpExchange, hub: LabHub, viewer: Viewer): Promise<void> {
  if (!hub.mayOpenStream(viewer.address)) {
    return refuse(ex, 503, 'too many live streams right now; the page retries by itself');
  }
  const fields = `Content-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\n${LAB_SECURITY_FIELDS}`;
  ex.startStream(200, fields);
  if (ex.isHead) return;
  const q = new URLSearchParams(ex.req.query);
  const services = q.get('service');
  const only = services ? new Set(services.split(',').slice(0, 16)) : undefined;
  // Retry quickly: a classroom server restarts and browsers should be back within a second or two.
  ex.conn.write('retry: 1000\n\n');
  const stream = new LabStream(ex.conn, viewer, only);
  await hub.openStream(stream, ex.req.get('last-event-id') ?? q.get('since') ?? undefined);
}
