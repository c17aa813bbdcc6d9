// The configuration: YAML on disk (defaults in config/labnet.yaml), validated with zod. The names
// `domain`, `hostname`, `dataDir`, `listen`, `users`, `services.<name>.enabled` and
// `services.<name>.port` are part of labnet's interface. Every object is strict: an unknown key is
// an error naming the key, not something silently ignored.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { faultsConfigSchema, type FaultsConfig } from './faults/rules.js';
import { z } from 'zod';
import { LabnetError } from './errors.js';
import { mailStoreConfigSchema } from './mail-store/config.js';
import { projectPath } from './paths.js';
import { throttleConfigSchema } from './throttle.js';

export const portSchema = z.number().int().min(0).max(65535);

export const userSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a user name of letters, digits, ".", "_" or "-"'),
  password: z.string().min(1).max(256),
});

export const limitsSchema = z.strictObject({
  /** Concurrent connections in the whole process, all TCP listeners together (TLS handshakes count). */
  maxConnections: z.number().int().min(1).default(1000),
  /** Concurrent connections per remote address, all TCP listeners together. */
  maxConnectionsPerAddress: z.number().int().min(1).default(100),
  /** How long busy sessions may finish at shutdown. */
  shutdownGraceMs: z.number().int().min(0).default(3000),
  /** Failed logins: growing delay per address and account, then a temporary refusal (core/throttle.ts). */
  loginThrottle: throttleConfigSchema.default(() => throttleConfigSchema.parse({})),
});

/** TLS for HTTPS and the mail services: the lab CA makes the certificate unless files are given. */
export const tlsConfigSchema = z
  .strictObject({
    /** PEM certificate (chain) to use instead of the generated one; needs keyFile too. */
    certFile: z.string().min(1).optional(),
    /** PEM private key for certFile. */
    keyFile: z.string().min(1).optional(),
    /** Refuse authentication before TLS (IMAP LOGINDISABLED, no AUTH before STARTTLS in SMTP and POP3). */
    requireTlsForAuth: z.boolean().default(false),
    /** Extra names and addresses for the generated server certificate. */
    extraNames: z.array(z.string().min(1).max(253)).max(64).default([]),
    /**
     * Offer STARTTLS (SMTP) and STLS (POP3) and STARTTLS (IMAP) on the plain ports. Off: not advertised
     * and refused, so clients that upgrade whenever it is offered (nodemailer, imapflow) stay on plain
     * text instead of failing on a certificate they do not trust.
     */
    offerStartTls: z.boolean().default(true),
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), 'certFile and keyFile to be given together');

/**
 * The packet capture (core/packet): off unless enabled, because it needs CAP_NET_RAW. The names
 * `capture.enabled` and `capture.interface` are part of labnet's interface.
 */
export const captureConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Where to capture. Empty: the DHCP interface when DHCP serves one, otherwise loopback (a one-machine lab). */
  interface: z
    .string()
    .max(15)
    .regex(/^[A-Za-z0-9_.:@-]*$/, 'an interface name such as eth1 or lo')
    .default(''),
  /** dumpcap (Wireshark's, batches in the kernel: cheaper per frame) or tcpdump. */
  tool: z.enum(['dumpcap', 'tcpdump']).default('dumpcap'),
  /** Bytes kept of each frame. */
  snapLength: z.number().int().min(68).max(262144).default(65535),
  /** Frames kept overall (the oldest go first). */
  maxFrames: z.number().int().min(100).max(2_000_000).default(20_000),
  /** Bytes of frames kept overall. */
  maxBytes: z
    .number()
    .int()
    .min(1 << 20)
    .max(1 << 30)
    .default(64 << 20),
  /** Frames kept per flow (its first 8, the handshake, stay; later ones go oldest first). */
  maxFramesPerFlow: z.number().int().min(16).max(1_000_000).default(2000),
  /** Flows remembered. */
  maxFlows: z.number().int().min(16).max(1_000_000).default(5000),
  /**
   * Budget: past this many frames in a second (a flood, a benchmark) the capture keeps only SYN, FIN,
   * RST, ARP and DHCP until the traffic calms down, so its cost stays bounded (0: no budget).
   */
  maxFramesPerSecond: z.number().int().min(0).default(3000),
  /** Also capture ping and IPv4 fragments to or from the lab's own addresses on the interface. */
  icmp: z.boolean().default(true),
});

const hostnameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/, 'a DNS name such as lab.test');

/** `api`: the REST API for test suites and CI. No token and no instructors: the API is off. */
export const apiConfigSchema = z.strictObject({
  /** Bearer token (`Authorization: Bearer TOKEN`); empty: no token access. */
  token: z.string().max(256).default(''),
});

/**
 * The live lab (/lab on HTTP and HTTPS, `labnet watch`) and how much history it keeps. Every bound
 * holds whatever students do: lines are cut, sessions and lines evicted oldest first, and the byte
 * budget caps the total.
 */
export const labConfigSchema = z.strictObject({
  /** Serve /lab and record the protocol events for it (only while HTTP or HTTPS runs). */
  enabled: z.boolean().default(true),
  history: z
    .strictObject({
      /** Recent sessions kept (closed ones are evicted first). */
      sessions: z.number().int().min(10).max(100_000).default(500),
      /** Lines kept per session: the first 100 and the most recent ones, with a marker for the gap between. */
      linesPerSession: z.number().int().min(200).max(1_000_000).default(2000),
      /**
       * Octets of transcript one session keeps at most (past it its oldest recent lines go; the first
       * ones stay): a session with long lines (FETCH answers, big messages) or one open all lesson
       * costs a fixed amount and cannot push the rest of the class out of `maxBytes`. 1 MiB holds a
       * 2,000-line session of ordinary commands and replies (about 200 octets each, overhead
       * included) twice over.
       */
      maxBytesPerSession: z
        .number()
        .int()
        .min(64 * 1024)
        .max(4 * 1024 ** 3)
        .default(1 << 20),
      /** Events a reconnecting browser resumes from without a gap. */
      replayEvents: z.number().int().min(100).max(1_000_000).default(20_000),
      /** Octets of transcript text kept at most (past it the oldest sessions go first). */
      maxBytes: z
        .number()
        .int()
        .min(1 << 20)
        .max(4 * 1024 ** 3)
        .default(64 << 20),
      /** DHCP packets kept (at most 200 per client MAC). */
      dhcpPackets: z.number().int().min(100).max(1_000_000).default(5000),
      /**
       * Commands and replies recorded per second across all sessions, on average (0: no limit). Past it
       * (a flood, a benchmark) the services skip building transcript lines, and each session gets a line
       * saying how many it missed: recording costs a bounded share of the machine however fast the
       * traffic is. New sessions are recorded at a fifth of this rate (and of burstLines).
       */
      linesPerSecond: z.number().int().min(0).max(10_000_000).default(1000),
      /**
       * Lines recorded at once after a quiet spell before linesPerSecond applies (a token bucket): a
       * class that acts all at once (everyone reloads, everyone fetches mail) is recorded whole.
       */
      burstLines: z.number().int().min(1).max(10_000_000).default(5000),
    })
    .default(() => ({
      sessions: 500,
      linesPerSession: 2000,
      maxBytesPerSession: 1 << 20,
      replayEvents: 20_000,
      maxBytes: 64 << 20,
      dhcpPackets: 5000,
      linesPerSecond: 1000,
      burstLines: 5000,
    })),
  /** Live streams (browsers, `labnet watch`) at most; more get 503. */
  maxStreams: z.number().int().min(1).max(10_000).default(500),
  /** Failed /lab logins per client address and minute before 429. */
  loginFailuresPerMinute: z.number().int().min(1).max(1000).default(10),
});

export type LabConfig = z.infer<typeof labConfigSchema>;

/** What every service's config has; a service extends it with its own keys. */
export function serviceBaseSchema(defaults: { enabled: boolean; port: number }) {
  return z.strictObject({
    enabled: z.boolean().default(defaults.enabled),
    port: portSchema.default(defaults.port),
  });
}

export interface ServiceConfigModule {
  name: string;
  configSchema: z.ZodType<{ enabled: boolean; port: number }>;
}

export function buildConfigSchema(modules: readonly ServiceConfigModule[]) {
  const services: Record<string, z.ZodType> = {};
  for (const m of modules) services[m.name] = (m.configSchema as z.ZodType).default(() => m.configSchema.parse({}));
  return z.strictObject({
    domain: hostnameSchema.default('lab.test'),
    hostname: hostnameSchema.default('labnet.lab.test'),
    dataDir: z.string().min(1).default('./labnet-data'),
    listen: z
      .string()
      .refine((s) => isIP(s) !== 0, 'an IPv4 or IPv6 address such as 0.0.0.0 or 127.0.0.1')
      .default('0.0.0.0'),
    users: z
      .array(userSchema)
      .default([])
      .refine((us) => new Set(us.map((u) => u.name.toLowerCase())).size === us.length, 'user names to be unique'),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    tls: tlsConfigSchema.default(() => tlsConfigSchema.parse({})),
    services: z.strictObject(services).default(() => ({})),
    /**
     * GreenMail's auth-disabled mode for test suites: every login is accepted with any password and
     * mailboxes are created on first use (logins and deliveries alike). Off by default; loud when on.
     */
    testMode: z.boolean().default(false),
    /** The REST API under /api/v1/ (core/mail-api): off unless a token or an instructor is configured. */
    api: apiConfigSchema.default(() => apiConfigSchema.parse({})),
    /**
     * Accounts among `users` that log in to /lab as instructors (see everything, pin to the
     * projector) and may use the REST API with HTTP Basic (their lab password).
     */
    instructors: z.array(userSchema.shape.name).max(1000).default([]),
    lab: labConfigSchema.default(() => labConfigSchema.parse({})),
    mailStore: mailStoreConfigSchema.default(() => mailStoreConfigSchema.parse({})),
    capture: captureConfigSchema.default(() => captureConfigSchema.parse({})),
    /** Fault injection for test suites (core/faults): rules active from the start and their bounds. */
    faults: faultsConfigSchema.default(() => faultsConfigSchema.parse({})),
  });
}

export interface UserConfig {
  name: string;
  password: string;
}

/** The validated config. Service sections are typed by each service through `serviceConfig`. */
export interface LabnetConfig {
  domain: string;
  hostname: string;
  /** Absolute after loading. */
  dataDir: string;
  listen: string;
  users: UserConfig[];
  limits: z.infer<typeof limitsSchema>;
  tls: z.infer<typeof tlsConfigSchema>;
  services: Record<string, { enabled: boolean; port: number } & Record<string, unknown>>;
  testMode: boolean;
  api: z.infer<typeof apiConfigSchema>;
  /** Instructor account names (among `users`). */
  instructors: string[];
  lab: LabConfig;
  /** Per-user quotas of the mail store (core/mail-store/config.ts). */
  mailStore: z.infer<typeof mailStoreConfigSchema>;
  capture: z.infer<typeof captureConfigSchema>;
  /** Fault rules and their bounds (core/faults/rules.ts). */
  faults: FaultsConfig;
}

export function serviceConfig<T>(config: LabnetConfig, name: string): T {
  return config.services[name] as T;
}

/** Where the packaged default config lives (config/labnet.yaml at the project root). */
export function defaultConfigPath(): string {
  return projectPath('config', 'labnet.yaml');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? `${v as string}` : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Formats zod issues as "key: got VALUE, expected WHAT" lines. */
export function formatConfigIssues(issues: readonly z.core.$ZodIssue[], input: unknown, source: string): string {
  const lines = issues.map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replace(/\.\[/g, '[');
    if (issue.code === 'unrecognized_keys') {
      const where = path ? `${path}.` : '';
      return issue.keys.map((k) => `  ${where}${k}: unknown key (got ${describeValue(valueAt(input, [...issue.path, k]))}); check the spelling`).join('\n');
    }
    const got = describeValue(valueAt(input, issue.path));
    let expected = issue.message;
    if (issue.code === 'invalid_type') expected = `a ${issue.expected}`;
    else if (issue.code === 'too_small') expected = `${issue.origin === 'number' ? 'a number' : 'a value'} >= ${String(issue.minimum)}`;
    else if (issue.code === 'too_big') expected = `${issue.origin === 'number' ? 'a number' : 'a value'} <= ${String(issue.maximum)}`;
    else if (issue.code === 'invalid_format' || issue.code === 'custom') expected = issue.message.replace(/^Invalid input:?\s*/i, '');
    else if (issue.code === 'invalid_value') expected = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    return `  ${path || '(top level)'}: got ${got}, expected ${expected}`;
  });
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

export function parseConfig(schema: z.ZodType, input: unknown, source: string, baseDir: string): LabnetConfig {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw new LabnetError('CONFIG_INVALID', formatConfigIssues(result.error.issues, input, source));
  const config = result.data as LabnetConfig;
  // `instructors` names accounts of `users` (a sibling key, so checked here rather than in the schema).
  const names = new Set(config.users.map((u) => u.name.toLowerCase()));
  const unknown = config.instructors.map((name, i) => ({ name, i })).filter((x) => !names.has(x.name.toLowerCase()));
  if (unknown.length > 0) {
    const lines = unknown.map((x) => `  instructors[${x.i}]: got ${describeValue(x.name)}, expected the name of one of the users`);
    throw new LabnetError('CONFIG_INVALID', `invalid configuration in ${source}:\n${lines.join('\n')}`);
  }
  config.dataDir = resolve(baseDir, config.dataDir);
  return config;
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LabnetError('CONFIG_UNREADABLE', `cannot read config ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new LabnetError('CONFIG_INVALID', `config ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

/** Deep-merges `over` onto `base` (objects merged, arrays and scalars replaced). */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = mergeConfig(out[k], v);
    return out;
  }
  return over;
}
