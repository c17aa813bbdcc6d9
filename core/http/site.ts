// An HTTP site: what the engine (engine.ts) serves on every connection of the HTTP service, plain or
// TLS. It routes a parsed request by method and path: what the method alone decides (method-policy.ts),
// a route of this site (`site.routes.add`) or of the shared registry (TOKENS.HttpRoutes), or a file of
// the document root. The built-in routes are the landing page, /healthz, /echo and the upload area
// (pages/); files of the document root and of the upload area go out through the same static path.
import type { EventBus } from '../events.js';
import type { ServiceStatus } from '../service.js';
import { prepareSiteDirs } from './document-root.js';
import type { HttpExchange } from './exchange.js';
import { FileArea } from './file-area.js';
import type { HttpLimits } from './limits.js';
import { MethodPolicy } from './method-policy.js';
import { echoRoute } from './pages/echo.js';
import { healthzRoute } from './pages/healthz.js';
import { caPageRoute } from './pages/ca-page.js';
import { landingRoute } from './pages/landing-page.js';
import { mailSetupRoutes } from './pages/mail-setup.js';
import { UploadArea, type UploadAuth } from './pages/upload-area.js';
import { decodePath } from './paths.js';
import { HttpParseError } from './request-parser.js';
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
  /** tls.offerStartTls: plain mail ports upgrade with STARTTLS (false: they stay plain). */
  offerStartTls?: boolean;
  /** tls.extraNames: more names the Host header may carry. */
  extraNames?: readonly string[];
  /** The lab CA (PEM), when TLS material is loaded: /ca and the Apple profile use it. */
  caPem?: () => string | undefined;
  /** Every account pages may name (config users and the roster); default: `users`. */
  accounts?: () => Array<{ name: string; fullName?: string }>;
}

export interface HttpSiteOptions {
  documentRoot: string;
  uploadDir: string;
  /** TRACE echoes the request as message/http (off: 405). */
  trace: boolean;
  uploadMaxFileBytes: number;
  uploadMaxFiles: number;
  /** Per-user caps of the upload area (0: none; default none). */
  uploadMaxBytesPerUser?: number;
  uploadMaxFilesPerUser?: number;
  /** Lab logins for PUT and DELETE in the upload area; without them nobody may write there. */
  uploadAuth?: UploadAuth;
  limits: HttpLimits;
  lab: LabInfo;
  events: EventBus;
  /** Routes shared by every site of the process (TOKENS.HttpRoutes). */
  shared?: HttpRouteRegistry;
  /** Create the document root with sample pages if it does not exist. */
  seedDocumentRoot?: boolean;
}

export class HttpSite {
  /** Routes of this site; `site.routes.add(route)` adds one. */
  readonly routes = new HttpRouteRegistry();
  readonly limits: HttpLimits;
  readonly events: EventBus;
  private readonly docs: FileArea;
  private readonly uploads: UploadArea;
  private readonly policy: MethodPolicy;

  constructor(readonly options: HttpSiteOptions) {
    this.limits = options.limits;
    this.events = options.events;
    const cache = { cacheMaxFileBytes: options.limits.cacheMaxFileBytes, cacheMaxTotalBytes: options.limits.cacheMaxTotalBytes };
    this.docs = new FileArea(options.documentRoot, { index: 'index.html', ...cache });
    this.uploads = new UploadArea({
      dir: options.uploadDir,
      maxFileBytes: options.uploadMaxFileBytes,
      maxFiles: options.uploadMaxFiles,
      maxBytesPerUser: options.uploadMaxBytesPerUser,
      maxFilesPerUser: options.uploadMaxFilesPerUser,
      auth: options.uploadAuth,
      ...cache,
    });
    this.policy = new MethodPolicy(options.trace);
    this.routes.add(landingRoute(options.lab, () => this.allRoutes(), options.trace));
    this.routes.add(healthzRoute(options.lab));
    this.routes.add(echoRoute(options.limits.maxBodyBytes));
    this.routes.add(this.uploads.route());
    for (const r of mailSetupRoutes(options.lab)) this.routes.add(r);
    if (options.lab.caPem) this.routes.add(caPageRoute(options.lab));
  }

  /** Creates the directories (and sample pages) and opens the file areas. */
  async start(): Promise<void> {
    const { documentRoot, uploadDir, seedDocumentRoot, lab } = this.options;
    await prepareSiteDirs(documentRoot, uploadDir, seedDocumentRoot !== false ? lab : undefined);
    await this.docs.init();
    await this.uploads.init();
  }

  /** This site's routes, then the shared ones (the landing page lists them). */
  allRoutes(): HttpRoute[] {
    return [...this.routes.list(), ...(this.options.shared?.list() ?? [])];
  }

  private match(path: string): HttpRoute | undefined {
    return this.routes.match(path) ?? this.options.shared?.match(path);
  }

  /** Answers one request (the engine reads any body left unread afterwards). */
  handle(ex: HttpExchange): void | Promise<void> {
    const policy = this.policy;
    if (policy.answeredBeforeRouting(ex)) return;
    const path = decodePath(ex.req.rawPath);
    if (path instanceof HttpParseError) {
      ex.sendError(path.status, path.message);
      return;
    }
    ex.path = path;
    const method = ex.req.method;
    const route = this.match(path);
    if (method === 'GET' || method === 'HEAD') {
      if (route === undefined) return serveFile(ex, this.docs, path);
      const files = route.files;
      if (files !== undefined && path.length > route.path.length) {
        const name = path.slice(route.path.length);
        const bad = files.check?.(name);
        if (bad !== undefined) {
          ex.sendError(400, bad);
          return;
        }
        return serveFile(ex, files.area, `/${name}`);
      }
      if (route.methods.includes('GET')) return route.handler(ex);
    } else if (route !== undefined && method !== 'OPTIONS' && method !== 'TRACE' && route.methods.includes(method)) {
      return route.handler(ex);
    }
    const allow = route ? allowFor(route.methods, policy.trace) : policy.staticAllow;
    if (!policy.answeredForResource(ex, allow)) policy.notAllowed(ex, allow);
  }
}
