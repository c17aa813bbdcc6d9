// The HTTP service's config (`services.http`): the site's keys (core/http/config.ts), the plain
// listener on `port` and the TLS listener on `httpsPort`, the handshake demo and the RSA demo listener.
// HTTPS used to be a service of its own with a `services.https` section; such a section is
// still read, rewritten into `services.http` with a warning naming the new keys (migrateHttpsSection).
import { z } from 'zod';
import { portSchema, serviceBaseSchema } from '../../core/config.js';
import { LabnetError } from '../../core/errors.js';
import { httpSiteFields, type HttpSiteConfig } from '../../core/http/config.js';
import type { TransportKind } from '../../core/transport.js';

export const httpConfigSchema = serviceBaseSchema({ enabled: true, port: 80 }).extend({
  ...httpSiteFields,
  /** The plain-text listener on `port` (false: HTTPS only). */
  plain: z.boolean().default(true),
  /**
   * What the plain listener accepts on: 'raw' (bare libuv handles through Node's internal tcp_wrap
   * binding, core/raw-tcp.ts; about twice the `Connection: close` rate) or 'net' (node:net). 'raw'
   * falls back to 'net', with a warning, where this Node lacks the binding.
   */
  transport: z.enum(['raw', 'net']).default('raw'),
  /** The TLS listener (HTTPS) on httpsPort: the same site over TLS 1.2/1.3 with the lab certificate. */
  https: z.boolean().default(true),
  httpsPort: portSchema.default(443),
  /** Record each handshake (bounded ring) so /tls can show it; off: plain node:tls, /tls says so. */
  handshakeDemo: z.boolean().default(true),
  /**
   * Tap at most this many handshakes per second (0: every one). A room of browsers stays far below;
   * beyond it (a flood, a benchmark) connections run on plain node:tls, so the demo's cost is bounded.
   */
  handshakeDemoMaxPerSecond: z.number().int().min(0).default(100),
  /** The TLS 1.2 RSA-key-exchange demo listener (deliberately weak; off by default). */
  rsaDemo: z.boolean().default(false),
  rsaDemoPort: portSchema.default(4443),
  /** A TLS handshake must finish within this time. */
  handshakeTimeoutMs: z.number().int().min(100).default(15_000),
});

export type HttpConfig = HttpSiteConfig & {
  enabled: boolean;
  port: number;
  plain: boolean;
  transport: TransportKind;
  https: boolean;
  httpsPort: number;
  handshakeDemo: boolean;
  handshakeDemoMaxPerSecond: number;
  rsaDemo: boolean;
  rsaDemoPort: number;
  handshakeTimeoutMs: number;
};

/** `services.https.<key>` (HTTPS as a service of its own) and the `services.http` key it became. */
const RENAMED: Readonly<Record<string, string>> = { enabled: 'https', port: 'httpsPort' };
const TLS_KEYS = new Set(['handshakeDemo', 'handshakeDemoMaxPerSecond', 'rsaDemo', 'rsaDemoPort', 'handshakeTimeoutMs']);
const SITE_KEYS = new Set(Object.keys(httpSiteFields));

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Rewrites the `services.https` section of one config source (in place) into `services.http` and
 * returns what it did, for a warning. HTTP and HTTPS serve one site now, so a site key given in both
 * sections with different values is an error naming both. `standalone`: the source is the whole config
 * (no defaults under it), where an `https` section alone meant HTTPS without plain HTTP.
 */
export function migrateHttpsSection(services: Record<string, unknown>, context: { standalone: boolean }): string[] {
  const old = services.https;
  if (old === undefined) return [];
  if (!isRecord(old)) return []; // left for validation to name
  const hadHttp = isRecord(services.http);
  const http: Record<string, unknown> = hadHttp ? (services.http as Record<string, unknown>) : {};
  const moved: string[] = [];
  for (const [key, value] of Object.entries(old)) {
    const to = RENAMED[key] ?? (TLS_KEYS.has(key) || SITE_KEYS.has(key) ? key : undefined);
    if (to === undefined) {
      throw new LabnetError(
        'CONFIG_INVALID',
        `invalid configuration:\n  services.https.${key}: unknown key (HTTPS is part of services.http now; see the README, "HTTP and HTTPS")`,
      );
    }
    if (SITE_KEYS.has(key) && key in http && JSON.stringify(http[key]) !== JSON.stringify(value)) {
      throw new LabnetError(
        'CONFIG_INVALID',
        `invalid configuration:\n  services.https.${key}: got ${JSON.stringify(value)} while services.http.${key} is ${JSON.stringify(http[key])}; ` +
          'HTTP and HTTPS serve one site now: give it once, under services.http',
      );
    }
    http[to] = value;
    moved.push(`services.https.${key} -> services.http.${to}`);
  }
  if (old.enabled === false && context.standalone && !hadHttp) {
    // A config of its own that named only a disabled HTTPS ran no HTTP at all.
    http.enabled = false;
  } else if (old.enabled !== false && (http.enabled === false || (context.standalone && !hadHttp))) {
    // HTTPS without plain HTTP: the service runs with its plain listener off.
    http.enabled = true;
    http.plain = false;
    moved.push('services.http.plain: false (HTTPS without plain HTTP)');
  }
  delete services.https;
  services.http = http;
  return [`services.https is part of services.http now (one service, a plain and a TLS listener); read as ${moved.join(', ')}`];
}
