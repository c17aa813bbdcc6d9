// An HTTP site: what the engine serves on a connection. It routes a parsed request to a built-in page
// (`/` landing page, `/healthz`, `/echo`, the `/upload/` area), to a route someone added
// (`site.routes.add`, or the shared registry), or to the document root; answers OPTIONS, TRACE,
// CONNECT and unknown methods the same way everywhere; and runs the sweep that cuts slow heads. The
// HTTPS service builds the same site (plus its own routes) and runs the same engine over TLS.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../events.js';
import { LiveList } from '../live-list.js';
import type { ServiceStatus } from '../service.js';
import type { HttpSession } from './engine.js';
import type { HttpExchange } from './exchange.js';
import { FileArea } from './file-area.js';
import { KNOWN_METHODS, type HttpLimits } from './limits.js';
import { decodePath } from './paths.js';
import { HttpParseError } from './request-parser.js';
import { escapeHtml } from './response.js';
import { allowFor, HttpRouteRegistry, type HttpRoute } from './routes.js';
import { serveFile } from './static-handler.js';

export interface LabInfo {
  hostname: string;
  domain: string;
  users: ReadonlyArray<{ name: string; password: string }>;
  /** Show the lab passwords on the landing page. */
  showPasswords: boolean;
  status: () => ServiceStatus[];
  startedAt: number;
}

export interface HttpSiteOptions {
  documentRoot: string;
  uploadDir: string;
  /** TRACE echoes the request as message/http (off: 405). */
  trace: boolean;
  uploadMaxFileBytes: number;
  uploadMaxFiles: number;
  limits: HttpLimits;
  lab: LabInfo;
  events: EventBus;
  /** Routes shared by every site of the process (TOKENS.HttpRoutes). */
  shared?: HttpRouteRegistry;
  /** Create the document root with sample pages if it does not exist. */
  seedDocumentRoot?: boolean;
}

const STATIC_METHODS = ['GET'] as const;
const UPLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SECRET_FIELDS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export class HttpSite {
  /** Routes of this site; `site.routes.add(route)` adds one. */
  readonly routes = new HttpRouteRegistry();
  readonly limits: HttpLimits;
  readonly events: EventBus;
  /** Open sessions, for the sweep (a linked list, not a Set: see core/live-list.ts). */
  readonly sessions = new LiveList<HttpSession>();
  private readonly docs: FileArea;
  private readonly uploads: FileArea;
  private sweep: NodeJS.Timeout | undefined;
  private readonly staticAllow: string;

  constructor(readonly options: HttpSiteOptions) {
    this.limits = options.limits;
    this.events = options.events;
    const cache = { cacheMaxFileBytes: options.limits.cacheMaxFileBytes, cacheMaxTotalBytes: options.limits.cacheMaxTotalBytes };
    this.docs = new FileArea(options.documentRoot, { index: 'index.html', ...cache });
    this.uploads = new FileArea(options.uploadDir, { index: null, ...cache, revalidateMs: 0 });
    this.staticAllow = allowFor(STATIC_METHODS, options.trace);
    this.routes.add({ path: '/', methods: ['GET'], description: 'this page', handler: (ex) => this.landingPage(ex) });
    this.routes.add({ path: '/healthz', methods: ['GET'], description: "every service's state as JSON", handler: (ex) => this.healthz(ex) });
    this.routes.add({
      path: '/echo',
      methods: ['GET', 'POST'],
      description: 'POST anything: answers with the method, headers, body size and SHA-256',
      handler: (ex) => this.echo(ex),
    });
    this.routes.add({
      path: '/upload/',
      prefix: true,
      methods: ['GET', 'PUT', 'DELETE'],
      description: 'PUT a file, GET it back, DELETE it',
      handler: (ex) => this.upload(ex),
    });
  }

  /** Creates the directories (and sample pages) and starts the slow-head sweep. */
  async start(): Promise<void> {
    const { documentRoot, uploadDir } = this.options;
    const existed = await stat(documentRoot).then(
      () => true,
      () => false,
    );
    if (!existed) {
      await mkdir(documentRoot, { recursive: true });
      if (this.options.seedDocumentRoot !== false) await seedDocumentRoot(documentRoot, this.options.lab);
    }
    await mkdir(uploadDir, { recursive: true });
    // Leftovers of uploads interrupted by a crash.
    for (const name of await readdir(uploadDir)) if (name.startsWith('.put-')) await rm(join(uploadDir, name), { force: true });
    await this.docs.init();
    await this.uploads.init();
    const every = Math.max(50, Math.min(1000, Math.floor(this.limits.headerTimeoutMs / 4)));
    this.sweep = setInterval(() => this.sweepSlowHeads(), every);
    this.sweep.unref();
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
  }

  /**
   * One sweep for every connection instead of a timer per socket (refreshed on every read and write):
   * - Slowloris: a head counts from the first sweep that sees part of it buffered; when it is still
   *   not complete after headerTimeoutMs the client gets 408 and the connection closes.
   * - Idle: a connection whose octet counters have not moved for keepAliveTimeoutMs is closed (a
   *   keep-alive client that went quiet, a body that stopped arriving, a reader that stopped reading).
   */
  private sweepSlowHeads(): void {
    const now = Date.now();
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

  private match(path: string): HttpRoute | undefined {
    return this.routes.match(path) ?? this.options.shared?.match(path);
  }

  /** Answers one request (the engine reads any body left unread afterwards). */
  handle(ex: HttpExchange): void | Promise<void> {
    const req = ex.req;
    const method = req.method;
    if (!KNOWN_METHODS.has(method)) {
      ex.sendError(501, `the method ${method} is not implemented here (GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE are)`);
      return;
    }
    if (req.reject) {
      ex.sendError(req.reject.status, req.reject.message);
      return;
    }
    if (method === 'CONNECT') {
      ex.sendError(405, 'CONNECT is for proxies; this is an origin server', { fields: `Allow: ${this.staticAllow}\r\n` });
      return;
    }
    if (req.rawPath === '*') {
      // OPTIONS * asks about the server as a whole (RFC 9110 section 9.3.7).
      ex.send(200, `Allow: ${allowFor(['GET', 'POST', 'PUT', 'DELETE'], this.options.trace)}\r\n`);
      return;
    }
    const path = decodePath(req.rawPath);
    if (path instanceof HttpParseError) {
      ex.sendError(path.status, path.message);
      return;
    }
    ex.path = path;
    const route = this.match(path);
    const allow = route ? allowFor(route.methods, this.options.trace) : this.staticAllow;
    if (method === 'GET' || method === 'HEAD') {
      if (route === undefined) return serveFile(ex, this.docs, path);
      if (route.methods.includes('GET')) return route.handler(ex);
    } else if (method === 'OPTIONS') {
      ex.send(200, `Allow: ${allow}\r\n`);
      return;
    } else if (method === 'TRACE') {
      if (this.options.trace) this.trace(ex);
      else
        ex.sendError(405, 'TRACE is switched off (it echoes requests back, the cross-site tracing hazard); services.http.trace turns it on', {
          fields: `Allow: ${allow}\r\n`,
        });
      return;
    } else if (route !== undefined && route.methods.includes(method)) {
      return route.handler(ex);
    }
    ex.sendError(405, `${method} is not allowed on ${path}`, { fields: `Allow: ${allow}\r\n` });
  }

  // ---- TRACE (RFC 9110 section 9.3.8) ----

  private trace(ex: HttpExchange): void {
    const req = ex.req;
    let text = `${req.requestLine}\r\n`;
    const f = req.fields;
    for (let i = 0; i < f.length; i += 2) text += `${f[i]}: ${SECRET_FIELDS.has(f[i].toLowerCase()) ? '<redacted>' : f[i + 1]}\r\n`;
    text += '\r\n';
    ex.send(200, 'Content-Type: message/http\r\n', Buffer.from(text, 'latin1'));
  }

  // ---- /echo ----

  private async echo(ex: HttpExchange): Promise<void> {
    const req = ex.req;
    const hash = createHash('sha256');
    const body = await ex.readBody(this.limits.maxBodyBytes, (chunk) => {
      hash.update(chunk);
    });
    if (body.overflow) {
      ex.sendError(413, `/echo reads at most ${this.limits.maxBodyBytes} octets`, { close: true });
      return;
    }
    const headers: Array<{ name: string; value: string }> = [];
    const f = req.fields;
    for (let i = 0; i < f.length; i += 2) headers.push({ name: f[i], value: SECRET_FIELDS.has(f[i].toLowerCase()) ? '<redacted>' : f[i + 1] });
    const trailers: Array<{ name: string; value: string }> = [];
    for (let i = 0; i < body.trailers.length; i += 2) trailers.push({ name: body.trailers[i], value: body.trailers[i + 1] });
    const sha256 = hash.digest('hex');
    const wantsText = /(^|&)format=text(&|$)/.test(req.query) || (req.accept !== undefined && req.accept.startsWith('text/plain'));
    if (wantsText) {
      let text = `${req.method} ${req.target} HTTP/${req.version === 10 ? '1.0' : '1.1'}\n`;
      for (const h of headers) text += `${h.name}: ${h.value}\n`;
      text += `\nbody: ${body.size} octets${req.chunked ? ' (chunked)' : ''}, sha256 ${sha256}\n`;
      for (const t of trailers) text += `trailer ${t.name}: ${t.value}\n`;
      ex.send(200, 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n', text);
      return;
    }
    const json = {
      method: req.method,
      target: req.target,
      version: req.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1',
      headers,
      body: { size: body.size, sha256, chunked: req.chunked },
      trailers,
    };
    ex.send(200, 'Content-Type: application/json\r\nCache-Control: no-store\r\n', `${JSON.stringify(json, null, 2)}\n`);
  }

  // ---- /upload/ ----

  private async upload(ex: HttpExchange): Promise<void> {
    const path = ex.path;
    const method = ex.req.method;
    const name = path.slice('/upload/'.length);
    if (name === '') {
      if (method === 'GET' || method === 'HEAD') return this.uploadListing(ex);
      ex.sendError(405, `${method} needs a file name: /upload/NAME`, { fields: 'Allow: GET, HEAD, OPTIONS\r\n' });
      return;
    }
    if (!UPLOAD_NAME.test(name)) {
      ex.sendError(400, 'upload names are one path segment of letters, digits, ".", "_" and "-" (not starting with ".")');
      return;
    }
    if (method === 'GET' || method === 'HEAD') return serveFile(ex, this.uploads, `/${name}`);
    const file = join(this.options.uploadDir, name);
    if (method === 'DELETE') {
      const gone = await unlink(file).then(
        () => true,
        () => false,
      );
      this.uploads.invalidate(`/${name}`);
      if (gone) ex.send(204, '');
      else ex.sendError(404, `no upload named ${name}`);
      return;
    }
    // PUT (RFC 9110 section 9.3.4): 201 when created, 204 when replaced.
    const req = ex.req;
    if (!req.chunked && req.contentLength < 0) {
      ex.sendError(411, 'PUT needs a Content-Length (or a chunked body)');
      return;
    }
    const max = this.options.uploadMaxFileBytes;
    if (!req.chunked && req.contentLength > max) {
      ex.sendError(413, `uploads are at most ${max} octets`, { close: true });
      return;
    }
    const existed = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!existed) {
      const count = (await readdir(this.options.uploadDir)).filter((n) => !n.startsWith('.')).length;
      if (count >= this.options.uploadMaxFiles) {
        ex.sendError(507, `the upload area holds its maximum of ${this.options.uploadMaxFiles} files; DELETE one first`);
        return;
      }
    }
    const tmp = join(this.options.uploadDir, `.put-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fh = await open(tmp, 'wx');
    let ok = false;
    try {
      const body = await ex.readBody(max, async (chunk) => {
        await fh.write(chunk);
      });
      await fh.close();
      if (body.overflow) {
        ex.sendError(413, `uploads are at most ${max} octets`, { close: true });
        return;
      }
      await rename(tmp, file);
      ok = true;
      this.uploads.invalidate(`/${name}`);
      if (existed) ex.send(204, '');
      else ex.send(201, `Location: /upload/${name}\r\nContent-Type: text/plain; charset=utf-8\r\n`, `created /upload/${name} (${body.size} octets)\n`);
    } finally {
      if (!ok) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  private async uploadListing(ex: HttpExchange): Promise<void> {
    const names = (await readdir(this.options.uploadDir)).filter((n) => !n.startsWith('.')).sort();
    const rows: string[] = [];
    for (const n of names) {
      const s = await stat(join(this.options.uploadDir, n)).catch(() => undefined);
      if (s?.isFile()) rows.push(`<li><a href="/upload/${encodeURIComponent(n)}">${escapeHtml(n)}</a> (${s.size} octets)</li>`);
    }
    const html = page(
      'Uploads',
      `<p>${rows.length} of at most ${this.options.uploadMaxFiles} files, each up to ${this.options.uploadMaxFileBytes} octets.</p>
<ul>${rows.join('\n')}</ul>
<pre>curl -T notes.txt http://HOST/upload/notes.txt     # PUT: 201 Created (204 when replaced)
curl http://HOST/upload/notes.txt                  # GET it back
curl -X DELETE http://HOST/upload/notes.txt        # DELETE: 204</pre>`,
    );
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }

  // ---- /healthz and the landing page ----

  private healthz(ex: HttpExchange): void {
    const all = this.options.lab.status();
    const healthy = all.every((s) => s.state === 'running');
    const json = {
      status: healthy ? 'ok' : 'degraded',
      uptimeSeconds: Math.round((Date.now() - this.options.lab.startedAt) / 1000),
      services: all.map((s) => ({
        name: s.name,
        state: s.state,
        listeners: s.listeners.map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, tls: Boolean(l.tls) })),
        ...(s.connections !== undefined ? { connections: s.connections } : {}),
        ...(s.error ? { error: s.error } : {}),
      })),
    };
    ex.send(healthy ? 200 : 503, 'Content-Type: application/json\r\nCache-Control: no-store\r\n', `${JSON.stringify(json, null, 2)}\n`);
  }

  private landingPage(ex: HttpExchange): void {
    const lab = this.options.lab;
    const all = [...lab.status()].sort((a, b) => a.name.localeCompare(b.name));
    // The name the student typed to reach us is the one their mail client should use.
    const hostHeader = ex.req.host ?? '';
    const host = hostHeader === '' ? lab.hostname : hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
    const port = (service: string, ...listeners: string[]): number | undefined => {
      const s = all.find((x) => x.name === service && x.state === 'running');
      if (!s) return undefined;
      for (const l of listeners) {
        const found = s.listeners.find((x) => x.name === l);
        if (found) return found.port;
      }
      return undefined;
    };
    const serviceRows = all
      .map((s) => {
        const ls = s.listeners.map((l) => `${escapeHtml(l.name)} ${l.port}/${l.protocol}${l.tls ? ' (TLS)' : ''}`).join(', ') || '-';
        return `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.state)}</td><td>${ls}</td></tr>`;
      })
      .join('\n');
    const h = escapeHtml(host);
    const hp = escapeHtml(hostHeader === '' ? lab.hostname : hostHeader);
    const mail: string[] = [];
    const imap = port('imap', 'imap');
    const imaps = port('imap', 'imaps');
    const pop3 = port('pop3', 'pop3');
    const pop3s = port('pop3', 'pop3s');
    const submission = port('smtp', 'submission');
    const smtp = port('smtp', 'smtp');
    const smtps = port('smtp', 'smtps');
    if (imap !== undefined || imaps !== undefined)
      mail.push(`<li>Incoming (IMAP): server <b>${h}</b>, port ${imap ?? '-'}${imaps !== undefined ? ` or ${imaps} (TLS)` : ''}</li>`);
    if (pop3 !== undefined || pop3s !== undefined)
      mail.push(`<li>Incoming (POP3): server <b>${h}</b>, port ${pop3 ?? '-'}${pop3s !== undefined ? ` or ${pop3s} (TLS)` : ''}</li>`);
    if (submission !== undefined || smtp !== undefined || smtps !== undefined) {
      mail.push(
        `<li>Outgoing (SMTP): server <b>${h}</b>, port ${submission ?? smtp ?? '-'}${submission !== undefined ? ' (submission: log in with your login and password)' : ''}${smtps !== undefined ? ` or ${smtps} (TLS)` : ''}</li>`,
      );
    }
    if (mail.length === 0) mail.push('<li>No mail service is running right now.</li>');
    const domain = escapeHtml(lab.domain);
    const users = lab.users
      .map(
        (u) =>
          `<tr><td>${escapeHtml(u.name)}@${domain}</td><td>${escapeHtml(u.name)}</td>${lab.showPasswords ? `<td><code>${escapeHtml(u.password)}</code></td>` : ''}</tr>`,
      )
      .join('\n');
    const routes = [...this.routes.list(), ...(this.options.shared?.list() ?? [])]
      .filter((r) => r.description)
      .map(
        (r) =>
          `<li><a href="${escapeHtml(r.path)}">${escapeHtml(r.path)}</a> ${escapeHtml(r.description!)} (${escapeHtml(allowFor(r.methods, this.options.trace))})</li>`,
      )
      .join('\n');
    const html = page(
      `labnet at ${escapeHtml(lab.hostname)}`,
      `<h2>Services</h2>
<table><tr><th>service</th><th>state</th><th>listeners</th></tr>
${serviceRows}
</table>
<h2>Setting up a mail client</h2>
<ul>${mail.join('\n')}</ul>
<p>Every user's address has the form <b>name@${domain}</b>; the login is <b>name</b> (or the whole address).</p>
<table><tr><th>address</th><th>login</th>${lab.showPasswords ? '<th>password</th>' : ''}</tr>
${users}
</table>
<h2>Things to try on this web server</h2>
<ul>
${routes}
<li><a href="/index.html">/index.html</a> and every other file in the document root</li>
</ul>
<pre>curl -v http://${hp}/index.html
curl -X OPTIONS -i http://${hp}/echo
curl -d 'hello' http://${hp}/echo</pre>`,
    );
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}pre{background:#f4f4f4;padding:.6em}</style>
</head><body><h1>${title}</h1>
${body}
</body></html>
`;
}

async function seedDocumentRoot(root: string, lab: LabInfo): Promise<void> {
  await writeFile(
    join(root, 'index.html'),
    page(
      `Welcome to ${escapeHtml(lab.hostname)}`,
      `<p>This page is <code>index.html</code> in labnet's document root. Edit it, add files next to it, and reload:
labnet notices changes within a second.</p>
<p>The lab's own page (services, ports, mail settings) is <a href="/">/</a>.</p>`,
    ),
  );
  await writeFile(join(root, 'hello.txt'), 'Hello, world\n');
}
