// The route registry of an HTTP site. A route is an exact path ("/healthz") or a prefix ("/upload/")
// with the methods it answers; GET implies HEAD, and OPTIONS (and TRACE when switched on) are answered
// by the site for every route. Adding a route is one call: `site.routes.add({...})`. The shared
// registry (TOKENS.HttpRoutes, bound by the host) is the way any other code publishes a route on every
// listener of the HTTP service (plain and TLS) without importing it: the TLS material adds `/ca.crt`.
import type { HttpExchange } from './exchange.js';
import type { FileArea } from './file-area.js';

/** Files served below a prefix route, through the same static path as the document root. */
export interface RouteFiles {
  area: FileArea;
  /** Refuses a name below the prefix ("notes.txt" for "/upload/notes.txt"): the 400 message, or undefined. */
  check?: (name: string) => string | undefined;
}

export interface HttpRoute {
  /** "/healthz" (exact) or "/upload/" with prefix: true. */
  path: string;
  prefix?: boolean;
  /** Methods the handler answers ("GET" implies "HEAD"). */
  methods: readonly string[];
  /** One line for the landing page (routes without one are not listed). */
  description?: string;
  handler: (ex: HttpExchange) => void | Promise<void>;
  /**
   * A prefix route may serve GET and HEAD of the paths below it from files (validators, ranges and the
   * in-memory cache of the document root); its handler then answers the other methods and the prefix
   * itself. List GET in `methods`.
   */
  files?: RouteFiles;
}

export class HttpRouteRegistry {
  private readonly exact = new Map<string, HttpRoute>();
  private prefixes: HttpRoute[] = [];

  /** Adds (or replaces) a route. */
  add(route: HttpRoute): void {
    this.remove(route.path);
    if (route.prefix) this.prefixes = [...this.prefixes, route].sort((a, b) => b.path.length - a.path.length);
    else this.exact.set(route.path, route);
  }

  remove(path: string): void {
    this.exact.delete(path);
    this.prefixes = this.prefixes.filter((r) => r.path !== path);
  }

  match(path: string): HttpRoute | undefined {
    const r = this.exact.get(path);
    if (r !== undefined) return r;
    for (const p of this.prefixes) if (path.startsWith(p.path)) return p;
    return undefined;
  }

  list(): HttpRoute[] {
    return [...this.exact.values(), ...this.prefixes];
  }
}

/** The Allow field value for a route's methods (RFC 9110 section 10.2.1). */
export function allowFor(methods: readonly string[], trace: boolean): string {
  const set = new Set<string>();
  for (const m of methods) {
    set.add(m);
    if (m === 'GET') set.add('HEAD');
  }
  set.add('OPTIONS');
  if (trace) set.add('TRACE');
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE'];
  return [...set].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(', ');
}
