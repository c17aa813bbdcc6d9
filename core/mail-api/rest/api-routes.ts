// The REST API under /api/v1/, published on every HTTP site through the shared route registry
// (TOKENS.HttpRoutes) as the lab CA's /ca.crt is: messages (list and search, one parsed, its raw
// source, each attachment, delete one or all), users (list, add, set a password, remove), a
// server-sent stream of deliveries, fault rules (core/faults: list, add, remove one or all), and the OpenAPI 3.1 document that describes all of it
// (openapi.ts; the tests check real answers against it). Off unless `api.token` or `instructors` is
// configured: then every /api/ path answers 404 saying how to switch it on.
import type { Accounts } from '../../auth.js';
import type { LabnetConfig } from '../../config.js';
import { LabnetError } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { FaultInjector } from '../../faults/index.js';
import type { HttpExchange } from '../../http/exchange.js';
import type { HttpRouteRegistry } from '../../http/routes.js';
import { MAIL_API_LIMITS } from '../limits.js';
import type { MailApi } from '../mail-api.js';
import type { MessageQuery } from '../types.js';
import { apiEnabled, authorize } from './api-auth.js';
import { serveDeliveryStream } from './event-stream.js';
import { ApiProblem, contentDisposition, intParam, queryParams, readJsonObject, safeContentType, sendJson, sendProblem } from './http-json.js';
import { API_BASE, messageJson, summaryJson } from './message-json.js';
import { openApiDocument } from './openapi.js';

export interface ApiRouteDeps {
  config: LabnetConfig;
  accounts: Accounts;
  events: EventBus;
  mail: MailApi;
  /** Fault rules (absent: /api/v1/faults answers 404). */
  faults?: FaultInjector | undefined;
}

const SEARCH_PARAMS = ['user', 'folder', 'to', 'from', 'subject', 'text', 'since'] as const;
const STATUS_BY_CODE: Partial<Record<string, number>> = {
  NO_SUCH_MESSAGE: 404,
  NO_SUCH_USER: 404,
  USER_EXISTS: 409,
  USER_INVALID: 400,
  INVALID_QUERY: 400,
  FAULT_INVALID: 400,
  FAULT_EXISTS: 409,
  FAULT_LIMIT: 409,
  NO_SUCH_FAULT: 404,
};

type Handler = (ex: HttpExchange) => void | Promise<void>;

/** Adds the /api/ routes to `routes`. */
export function addApiRoutes(routes: HttpRouteRegistry, deps: ApiRouteDeps): void {
  const { config, mail, accounts } = deps;
  const enabled = apiEnabled(config);

  /** The API's gate and error mapping around every handler. */
  const guarded =
    (fn: Handler, open = false): Handler =>
    async (ex) => {
      if (!enabled) {
        sendProblem(
          ex,
          404,
          'API_OFF',
          'the REST API is off: set api.token (then send Authorization: Bearer <token>) or instructors (HTTP Basic with their lab login) in the config',
        );
        return;
      }
      if (!open && !(await authorize(ex, deps))) return;
      try {
        await fn(ex);
      } catch (err) {
        if (ex.responded) throw err;
        if (err instanceof ApiProblem) sendProblem(ex, err.status, err.code, err.message);
        else if (err instanceof LabnetError && STATUS_BY_CODE[err.code] !== undefined) sendProblem(ex, STATUS_BY_CODE[err.code]!, err.code, err.message);
        else throw err;
      }
    };

  const searchQuery = (params: Map<string, string>): MessageQuery => {
    const q: MessageQuery = {};
    for (const k of SEARCH_PARAMS) {
      const v = params.get(k);
      if (v === undefined) continue;
      if (k === 'since') {
        const t = /^[0-9]{1,15}$/.test(v) ? Number(v) : Date.parse(v);
        if (Number.isNaN(t)) throw new ApiProblem(400, 'INVALID_QUERY', '"since" must be an ISO 8601 date or milliseconds since the epoch');
        q.since = t;
      } else q[k] = v;
    }
    return q;
  };

  routes.add({
    path: '/api/',
    prefix: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    handler: guarded((ex) => {
      throw new ApiProblem(404, 'NO_SUCH_ROUTE', `no API route ${ex.req.method} ${ex.path.slice(0, 200)}; the routes are listed in ${API_BASE}/openapi.json`);
    }),
  });

  routes.add({
    path: `${API_BASE}/openapi.json`,
    methods: ['GET'],
    ...(enabled ? { description: 'the REST API for test suites and CI: its OpenAPI 3.1 description (calls need the API token or an instructor login)' } : {}),
    handler: guarded((ex) => sendJson(ex, 200, openApiDocument()), true),
  });

  routes.add({
    path: `${API_BASE}/messages`,
    methods: ['GET', 'DELETE'],
    handler: guarded(async (ex) => {
      if (ex.req.method === 'DELETE') {
        const params = queryParams(ex, ['user']);
        const user = params.get('user');
        sendJson(ex, 200, { deleted: await mail.purge(user) });
        return;
      }
      const params = queryParams(ex, [...SEARCH_PARAMS, 'limit', 'offset']);
      const limit = intParam(params, 'limit', MAIL_API_LIMITS.defaultPageSize, 1, MAIL_API_LIMITS.maxPageSize);
      const offset = intParam(params, 'offset', 0, 0, 100_000_000);
      const located = await mail.locate(searchQuery(params));
      const page = located.slice(offset, offset + limit);
      sendJson(ex, 200, { total: located.length, offset, count: page.length, messages: page.map((l) => summaryJson(l.user, l.folder, l.info)) });
    }),
  });

  routes.add({
    path: `${API_BASE}/messages/`,
    prefix: true,
    methods: ['GET', 'DELETE'],
    handler: guarded(async (ex) => {
      queryParams(ex, []);
      const parts = ex.path.slice(`${API_BASE}/messages/`.length).split('/');
      const id = parts.slice(0, 3).join('/');
      const rest = parts.slice(3);
      const notFound = (): never => {
        throw new ApiProblem(404, 'NO_SUCH_ROUTE', `no API route ${ex.req.method} ${ex.path.slice(0, 200)}`);
      };
      if (parts.length < 3) notFound();
      if (ex.req.method === 'DELETE') {
        if (rest.length > 0) notFound();
        if (!(await mail.delete(id))) throw new LabnetError('NO_SUCH_MESSAGE', `no message ${id}`);
        ex.send(204, 'Cache-Control: no-store\r\n');
        return;
      }
      if (rest.length === 0) {
        sendJson(ex, 200, messageJson(await mail.message(id)));
      } else if (rest.length === 1 && rest[0] === 'raw') {
        const raw = await mail.raw(id);
        ex.send(200, 'Content-Type: message/rfc822\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n', raw);
      } else if (rest.length === 2 && rest[0] === 'attachments' && /^[0-9]{1,4}$/.test(rest[1])) {
        const m = await mail.message(id);
        const a = m.attachments[Number(rest[1])];
        if (!a) throw new ApiProblem(404, 'NO_SUCH_ATTACHMENT', `message ${id} has ${m.attachments.length} attachment(s), numbered from 0`);
        ex.send(
          200,
          `Content-Type: ${safeContentType(a.contentType)}\r\nContent-Disposition: ${contentDisposition(a.filename ?? `attachment-${rest[1]}`)}\r\n` +
            // Attachments are whatever a sender chose: never rendered or run on the lab's origin.
            "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: sandbox; default-src 'none'\r\nCache-Control: no-store\r\n",
          a.content,
        );
      } else notFound();
    }),
  });

  routes.add({
    path: `${API_BASE}/users`,
    methods: ['GET', 'POST'],
    handler: guarded(async (ex) => {
      queryParams(ex, []);
      if (ex.req.method === 'POST') {
        const body = await readJsonObject(ex);
        const name = accounts.add(stringField(body, 'name'), stringField(body, 'password'));
        sendJson(ex, 201, userJson(name, config), `Location: ${API_BASE}/users/${encodeURIComponent(name)}\r\n`);
        return;
      }
      sendJson(ex, 200, {
        users: accounts.names().map((n) => userJson(n, config)),
        mailboxes: await mail.mailboxes(),
        testMode: accounts.testMode,
      });
    }),
  });

  routes.add({
    path: `${API_BASE}/users/`,
    prefix: true,
    methods: ['GET', 'PUT', 'DELETE'],
    handler: guarded(async (ex) => {
      queryParams(ex, []);
      const name = ex.path.slice(`${API_BASE}/users/`.length);
      if (name === '' || name.includes('/')) throw new ApiProblem(404, 'NO_SUCH_ROUTE', `no API route ${ex.req.method} ${ex.path.slice(0, 200)}`);
      if (ex.req.method === 'PUT') {
        const body = await readJsonObject(ex);
        const password = stringField(body, 'password');
        if (accounts.isAccount(accounts.localUser(name) ?? name)) {
          accounts.setPassword(name, password);
          sendJson(ex, 200, userJson(accounts.localUser(name)!, config));
        } else {
          const added = accounts.add(name, password);
          sendJson(ex, 201, userJson(added, config), `Location: ${API_BASE}/users/${encodeURIComponent(added)}\r\n`);
        }
        return;
      }
      if (ex.req.method === 'DELETE') {
        if (!accounts.remove(name)) throw new LabnetError('NO_SUCH_USER', `no user "${name.slice(0, 80)}"`);
        ex.send(204, 'Cache-Control: no-store\r\n');
        return;
      }
      const user = mail.mailboxOf(name);
      const account = accounts.isAccount(user);
      const folders = await mail.folderStatus(user);
      if (!account && folders.length === 0) throw new LabnetError('NO_SUCH_USER', `no user or mailbox "${name.slice(0, 80)}"`);
      sendJson(ex, 200, { ...userJson(user, config), account, folders });
    }),
  });

  const faultsOf = (ex: HttpExchange): FaultInjector => {
    if (deps.faults === undefined) throw new ApiProblem(404, 'NO_SUCH_ROUTE', 'no fault injection here: it comes with the mail services (smtp, pop3, imap)');
    queryParams(ex, []);
    return deps.faults;
  };

  routes.add({
    path: `${API_BASE}/faults`,
    methods: ['GET', 'POST', 'DELETE'],
    handler: guarded(async (ex) => {
      const faults = faultsOf(ex);
      if (ex.req.method === 'POST') {
        const rule = faults.add(await readJsonObject(ex));
        sendJson(ex, 201, rule, `Location: ${API_BASE}/faults/${encodeURIComponent(rule.id)}\r\n`);
      } else if (ex.req.method === 'DELETE') sendJson(ex, 200, { deleted: faults.clear() });
      else sendJson(ex, 200, { rules: faults.list(), maxRules: config.faults.maxRules, maxDelayMs: config.faults.maxDelayMs });
    }),
  });

  routes.add({
    path: `${API_BASE}/faults/`,
    prefix: true,
    methods: ['GET', 'DELETE'],
    handler: guarded((ex) => {
      const faults = faultsOf(ex);
      const id = ex.path.slice(`${API_BASE}/faults/`.length);
      if (id === '' || id.includes('/')) throw new ApiProblem(404, 'NO_SUCH_ROUTE', `no API route ${ex.req.method} ${ex.path.slice(0, 200)}`);
      if (ex.req.method === 'DELETE') {
        if (!faults.remove(id)) throw new LabnetError('NO_SUCH_FAULT', `no fault rule "${id.slice(0, 80)}"`);
        ex.send(204, 'Cache-Control: no-store\r\n');
        return;
      }
      const rule = faults.get(id);
      if (!rule) throw new LabnetError('NO_SUCH_FAULT', `no fault rule "${id.slice(0, 80)}"`);
      sendJson(ex, 200, rule);
    }),
  });

  routes.add({
    path: `${API_BASE}/deliveries`,
    methods: ['GET'],
    handler: guarded(async (ex) => {
      const params = queryParams(ex, ['user', 'folder', 'to', 'from', 'subject']);
      const matcher = mail.matcher(searchQuery(params));
      await serveDeliveryStream(ex, mail, matcher);
    }),
  });
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string') throw new ApiProblem(400, 'INVALID_BODY', `the body needs "${name}" as a string`);
  return v;
}

function userJson(name: string, config: LabnetConfig): { name: string; address: string } {
  return { name, address: `${name}@${config.domain}` };
}
