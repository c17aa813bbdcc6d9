// The config keys of an HTTP site (document root, uploads, TRACE, the engine's limits): the HTTP
// service's schema extends `serviceBaseSchema(...)` with `httpSiteFields`, and its plain and TLS
// listeners serve the one site built from them.
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import type { Accounts } from '../auth.js';
import type { LabnetConfig } from '../config.js';
import { LabnetError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { StatusBoard } from '../status-board.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './limits.js';
import type { HttpRouteRegistry } from './routes.js';
import { HttpSite } from './site.js';

const d = DEFAULT_HTTP_LIMITS;

/** A cap in files or octets: a whole number, 0 or more. */
const cap = (fallback: number) => z.number().int().min(0).default(fallback);

export const httpSiteFields = {
  /** Served files. '' means <dataDir>/www, created with sample pages on first start. Relative: to dataDir. */
  documentRoot: z.string().default(''),
  /** TRACE echoes the request back as message/http (Cookie and Authorization redacted); off: 405. */
  trace: z.boolean().default(false),
  /** Show the lab passwords on the landing page, over HTTP and HTTPS alike (off: passwords are handed out, not published). */
  landingShowsPasswords: z.boolean().default(false),
  uploadMaxFileBytes: cap(10 * 1024 * 1024),
  uploadMaxFiles: cap(100),
  /** Octets one student may keep in the upload area (0: no cap). */
  uploadMaxBytesPerUser: cap(25 * 1024 * 1024),
  /** Files one student may keep in the upload area (0: no cap). */
  uploadMaxFilesPerUser: cap(20),
  headerTimeoutMs: z.number().int().min(100).default(d.headerTimeoutMs),
  keepAliveTimeoutMs: z.number().int().min(100).default(d.keepAliveTimeoutMs),
  maxHeadBytes: z
    .number()
    .int()
    .min(256)
    .max(1024 * 1024)
    .default(d.maxHeadBytes),
  maxRequestLineBytes: z
    .number()
    .int()
    .min(64)
    .max(1024 * 1024)
    .default(d.maxRequestLineBytes),
  maxHeaderCount: z.number().int().min(1).max(10_000).default(d.maxHeaderCount),
  maxBodyBytes: cap(d.maxBodyBytes),
};

export interface HttpSiteConfig {
  documentRoot: string;
  trace: boolean;
  landingShowsPasswords: boolean;
  uploadMaxFileBytes: number;
  uploadMaxFiles: number;
  uploadMaxBytesPerUser: number;
  uploadMaxFilesPerUser: number;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeadBytes: number;
  maxRequestLineBytes: number;
  maxHeaderCount: number;
  maxBodyBytes: number;
}

export function httpLimitsFrom(c: HttpSiteConfig): HttpLimits {
  return {
    ...DEFAULT_HTTP_LIMITS,
    headerTimeoutMs: c.headerTimeoutMs,
    keepAliveTimeoutMs: c.keepAliveTimeoutMs,
    maxHeadBytes: c.maxHeadBytes,
    maxRequestLineBytes: Math.min(c.maxRequestLineBytes, c.maxHeadBytes),
    maxHeaderCount: c.maxHeaderCount,
    maxBodyBytes: c.maxBodyBytes,
  };
}

/** Where the site's files live: [documentRoot, uploadDir, seed?]. */
export function httpSitePaths(c: HttpSiteConfig, dataDir: string): { documentRoot: string; uploadDir: string; seed: boolean } {
  const documentRoot = c.documentRoot === '' ? join(dataDir, 'www') : isAbsolute(c.documentRoot) ? c.documentRoot : resolve(dataDir, c.documentRoot);
  // The data directory holds the CA key, every mailbox and the leases: never served (issue 14).
  const up = relative(resolve(documentRoot), resolve(dataDir));
  if (up === '' || (!up.startsWith('..') && !isAbsolute(up))) {
    throw new LabnetError(
      'CONFIG_INVALID',
      `services.http.documentRoot ${documentRoot} contains the data directory ${resolve(dataDir)} (its CA key, mailboxes and leases would be served): choose a directory outside it`,
    );
  }
  return { documentRoot, uploadDir: join(dataDir, 'uploads'), seed: c.documentRoot === '' };
}

export interface HttpSiteDeps {
  config: LabnetConfig;
  events: EventBus;
  board: StatusBoard;
  /** TOKENS.HttpRoutes */
  shared: HttpRouteRegistry;
  /** The lab CA (PEM) once TLS material is loaded (the /ca page and Apple profiles). */
  caPem?: () => string | undefined;
  /** Every lab account (config users and the roster) for the setup pages. */
  accounts?: () => Array<{ name: string; fullName?: string }>;
  /** Lab logins for writing to the upload area (HTTP Basic, throttled); without them nobody may write. */
  auth?: Accounts;
}

/** Builds the lab's site from a site config section. Call `site.start()` before serving. */
export function createHttpSite(c: HttpSiteConfig, deps: HttpSiteDeps): HttpSite {
  const paths = httpSitePaths(c, deps.config.dataDir);
  return new HttpSite({
    documentRoot: paths.documentRoot,
    uploadDir: paths.uploadDir,
    seedDocumentRoot: paths.seed,
    trace: c.trace,
    uploadMaxFileBytes: c.uploadMaxFileBytes,
    uploadMaxFiles: c.uploadMaxFiles,
    uploadMaxBytesPerUser: c.uploadMaxBytesPerUser,
    uploadMaxFilesPerUser: c.uploadMaxFilesPerUser,
    uploadAuth: deps.auth && { accounts: deps.auth, instructors: () => deps.config.instructors, events: deps.events },
    limits: httpLimitsFrom(c),
    events: deps.events,
    shared: deps.shared,
    lab: {
      hostname: deps.config.hostname,
      domain: deps.config.domain,
      users: deps.config.users,
      showPasswords: c.landingShowsPasswords,
      status: () => deps.board.all(),
      startedAt: deps.board.startedAt,
      offerStartTls: deps.config.tls.offerStartTls,
      extraNames: deps.config.tls.extraNames,
      caPem: deps.caPem,
      accounts: deps.accounts,
    },
  });
}
