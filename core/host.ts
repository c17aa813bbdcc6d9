// The host: the only place that builds an inversify container. It knows no service: the service
// modules are a parameter (app/labnet.ts passes the registry in services/index.ts), so core/ never
// imports services/. Core singletons first,
// then one TOKENS.Service binding (named by the service) per enabled service. Start-up succeeds only
// when every enabled service starts: otherwise every service is stopped again and one StartupError
// names every port that could not be bound and every service that failed, with the fixes
// (`tolerateFailures` keeps the others running instead, for test suites that want that).
import 'reflect-metadata';
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Container } from 'inversify';
import type { Logger, LevelWithSilent } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { buildConfigSchema, defaultConfigPath, mergeConfig, parseConfig, readConfigFile, type LabnetConfig } from './config.js';
import { LabnetError, StartupError, type StartFailure } from './errors.js';
import { EventBus } from './events.js';
import { createLogger, logEvents } from './logger.js';
import { NetHost } from './net-host.js';
import { Accounts } from './auth.js';
import type { RuntimeOptions } from './runtime.js';
import type { ListenerInfo, Service, ServiceModule, ServiceStatus } from './service.js';
import { TOKENS } from './tokens.js';
import { coreProviders } from './providers.js';
import { StatusBoard } from './status-board.js';
import { HttpRouteRegistry } from './http/routes.js';
import { LabNames } from './lab-names.js';
import { PacketCapture } from './packet/packet-capture.js';
import type { TlsMaterial } from './tls/tls-material.js';

export interface StartOptions {
  /** A config object (merged over the defaults unless `defaults: false`). */
  config?: Record<string, unknown>;
  /** A YAML config file, merged over the defaults. */
  configFile?: string;
  /**
   * Start from config/labnet.yaml (default true). Test suites usually pass false and give all they
   * need; then only the services named under `config.services` (or in `only`) run.
   */
  defaults?: boolean;
  dataDir?: string;
  portOffset?: number;
  /** Only these services (others disabled). */
  only?: string[];
  logLevel?: LevelWithSilent;
  /** Pretty logs (default: when stdout is a TTY). */
  prettyLogs?: boolean;
  logger?: Logger;
  clock?: Clock;
  /** Service modules to use instead of the ones passed to startHost (tests of the host itself). */
  modules?: readonly ServiceModule[];
  /** Runtime switches for services (e.g. { dhcpInterface: 'veth0', dhcpForce: true }). */
  flags?: Record<string, unknown>;
  /**
   * Keep running the services that started when others fail with an error of their own (their
   * handle says `failed`). Default false: start-up fails with a StartupError and nothing keeps
   * running. A port that cannot be bound or a service that refuses (SERVICE_REFUSED) always fails it.
   */
  tolerateFailures?: boolean;
}

export interface ServiceHandle {
  name: string;
  state: ServiceStatus['state'];
  listeners: ListenerInfo[];
  /** The first listener's port (the service's main port). */
  port: number;
  address: string;
  error?: string;
}

export interface LabnetHandle {
  config: LabnetConfig;
  events: EventBus;
  logger: Logger;
  services: Record<string, ServiceHandle>;
  /** Port of a listener by service and listener name (default: the service's main listener). */
  port(service: string, listener?: string): number;
  status(): ServiceStatus[];
  /** Resolves an injected core provider (for tests and tools), e.g. TOKENS.MailStore. */
  get<T>(token: symbol): T;
  stop(): Promise<void>;
}

/**
 * Lets each module rewrite an older layout of its section in one config source (`migrateConfig`),
 * on a copy: the caller's object is left as it was. Notes go to `notes`.
 */
function migrateSource(source: unknown, modules: readonly ServiceModule[], standalone: boolean, notes: string[]): unknown {
  const services = (source as { services?: unknown } | null)?.services;
  if (!modules.some((m) => m.migrateConfig) || services === null || typeof services !== 'object' || Array.isArray(services)) return source;
  const copy = structuredClone(source) as { services: Record<string, unknown> };
  for (const m of modules) if (m.migrateConfig) notes.push(...m.migrateConfig(copy.services, { standalone }));
  return copy;
}

/** The validated config; `notes` receives what was read from an older layout (logged as warnings). */
export function loadConfig(options: StartOptions, modules: readonly ServiceModule[], notes: string[] = []): LabnetConfig {
  const standalone = options.defaults === false;
  let raw: unknown = {};
  let source = 'defaults';
  if (options.defaults !== false) {
    raw = migrateSource(readConfigFile(defaultConfigPath()), modules, false, notes);
    source = defaultConfigPath();
  }
  if (options.configFile) {
    const file = migrateSource(readConfigFile(options.configFile), modules, standalone, notes);
    // Check the file on its own first so that messages name what the user wrote.
    const schema = buildConfigSchema(modules);
    parseConfig(schema, mergeConfig({}, file), options.configFile, process.cwd());
    raw = mergeConfig(raw, file);
    source = options.configFile;
  }
  if (options.config) {
    raw = mergeConfig(raw, migrateSource(options.config, modules, standalone, notes));
    source = options.configFile ? `${options.configFile} + options` : 'options';
  }
  if (options.dataDir) raw = mergeConfig(raw, { dataDir: options.dataDir });
  const schema = buildConfigSchema(modules);
  const config = parseConfig(schema, raw, source, process.cwd());
  if (options.defaults === false && !options.only) {
    // An explicit config without the packaged defaults runs exactly the services it names (as a test
    // suite expects: configuring SMTP alone must not also try to open ports 80, 110 and 143).
    const named = (raw as { services?: Record<string, unknown> }).services ?? {};
    for (const m of modules) {
      const section = config.services[m.name];
      if (section && !(m.name in named)) section.enabled = false;
    }
  }
  if (options.only) {
    const known = new Set(modules.map((m) => m.name));
    const aliases = new Map(modules.flatMap((m) => (m.aliases ?? []).map((a) => [a, m.name] as const)));
    const only = options.only.map((name) => {
      const to = aliases.get(name);
      if (to === undefined) return name;
      notes.push(`--only ${name}: ${name} is part of the ${to} service now`);
      return to;
    });
    for (const name of only) {
      if (!known.has(name)) throw new LabnetError('UNKNOWN_SERVICE', `--only: unknown service "${name}"; expected some of ${[...known].join(', ')}`);
    }
    for (const m of modules) {
      const section = config.services[m.name];
      if (section) section.enabled = only.includes(m.name);
    }
  }
  checkPortOffset(config, options.portOffset ?? 0, modules);
  return config;
}

/**
 * Every TCP port an enabled service will open, plus the offset, must be a port (TCP has 65535):
 * otherwise the key, its value and the sum are a config error. A port key is one ending in "port"
 * (port, submissionPort, pop3sPort...); `xPort` is skipped when the section's switch `x` is false
 * (submission: false), and so are a module's `udpPorts`, which --port-offset leaves alone.
 */
export function checkPortOffset(config: LabnetConfig, offset: number, modules: readonly ServiceModule[]): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > 65535)
    throw new LabnetError('CONFIG_INVALID', `invalid port offset: got ${String(offset)}, expected a whole number from 0 to 65535`);
  if (offset === 0) return;
  const issues: string[] = [];
  let highest = 0;
  for (const m of modules) {
    const section = config.services[m.name];
    if (!section?.enabled) continue;
    const udp = new Set(m.udpPorts ?? []);
    for (const [key, value] of Object.entries(section)) {
      if (!/port$/i.test(key) || typeof value !== 'number' || value === 0 || udp.has(key)) continue;
      const toggle = key.slice(0, -'port'.length);
      if (toggle && section[toggle] === false) continue;
      highest = Math.max(highest, value);
      if (value + offset > 65535)
        issues.push(`  services.${m.name}.${key}: ${value} + --port-offset ${offset} = ${value + offset}, past 65535 (the highest TCP port)`);
    }
  }
  if (issues.length)
    throw new LabnetError(
      'CONFIG_INVALID',
      `invalid port offset ${offset}: ${issues.length} port${issues.length === 1 ? '' : 's'} would be out of range:\n${issues.join('\n')}\n` +
        `  use --port-offset ${65535 - highest} or less (10000 is the usual choice), or lower those ports in the config`,
    );
}

/** Creates the data directory and checks that labnet can write there, before any service starts. */
function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    let who = '';
    try {
      const u = userInfo();
      who = ` by user ${u.username} (uid ${u.uid})`;
    } catch {
      /* no passwd entry */
    }
    throw new LabnetError(
      'DATA_DIR_UNUSABLE',
      `the data directory ${dir} cannot be created or written${who}: ${e.code ?? e.message}. ` +
        `Choose another with --data-dir DIR (or \`dataDir\` in the config), or give this user write access to it.`,
    );
  }
}

/** Builds the container from the config and starts every enabled service of `registry`. */
export async function startHost(options: StartOptions, registry: readonly ServiceModule[]): Promise<LabnetHandle> {
  const modules = options.modules ?? registry;
  const notes: string[] = [];
  const config = loadConfig(options, modules, notes);
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info', { pretty: options.prettyLogs });
  for (const note of notes) logger.warn(note);
  const clock = options.clock ?? systemClock;
  const events = new EventBus(
    () => clock.now(),
    (err) => logger.warn({ err }, 'event subscriber threw'),
  );
  logEvents(events, logger);
  const runtime: RuntimeOptions = {
    portOffset: options.portOffset ?? 0,
    shutdownGraceMs: config.limits.shutdownGraceMs,
    flags: options.flags ?? {},
  };
  prepareDataDir(config.dataDir);
  if (config.testMode) {
    logger.warn(
      'TEST MODE (testMode: true): every SMTP, POP3 and IMAP login is accepted with ANY password and mailboxes are created on first use. For test suites only: never on a lab network.',
    );
  }

  const enabled = modules.filter((m) => config.services[m.name]?.enabled);
  const container = new Container();
  container.bind(TOKENS.Config).toConstantValue(config);
  container.bind(TOKENS.Runtime).toConstantValue(runtime);
  container.bind(TOKENS.Logger).toConstantValue(logger);
  container.bind(TOKENS.Events).toConstantValue(events);
  container.bind(TOKENS.Clock).toConstantValue(clock);
  container.bind(TOKENS.DataDir).toConstantValue(config.dataDir);
  container.bind(TOKENS.Net).to(NetHost).inSingletonScope();
  container.bind(TOKENS.Accounts).to(Accounts).inSingletonScope();
  const board = new StatusBoard();
  container.bind(TOKENS.Status).toConstantValue(board);
  container.bind(TOKENS.HttpRoutes).toConstantValue(new HttpRouteRegistry());
  container.bind(TOKENS.Capture).to(PacketCapture).inSingletonScope();
  container.bind(TOKENS.LabNames).toConstantValue(new LabNames());
  const needs = new Set<string>(enabled.flatMap((m) => m.needs ?? []));
  // The live lab is served by the web services: without HTTP and HTTPS it would only cost.
  if (config.lab.enabled && enabled.some((m) => m.name === 'http' || m.name === 'https')) needs.add('lab');
  const providers = coreProviders(container, needs);
  for (const m of enabled) container.bind(TOKENS.Service).to(m.serviceClass).inSingletonScope().whenNamed(m.name);

  const failed = new Map<string, string>();
  const failures: StartFailure[] = [];
  const running: Service[] = [];
  try {
    await providers.start();
  } catch (err) {
    // The mail store or the TLS material could not be set up (a certFile that cannot be read...).
    await providers.stop().catch(() => {});
    throw new StartupError([{ service: 'core (mail store, TLS certificate)', error: err instanceof Error ? err : new Error(String(err)) }]);
  }
  await Promise.all(
    enabled.map(async (m) => {
      const log = logger.child({ service: m.name });
      events.publish({ type: 'service.state', service: m.name, state: 'starting' });
      let service: Service;
      try {
        service = container.get<Service>(TOKENS.Service, { name: m.name });
        await service.start();
      } catch (err) {
        // A listener group that could not bind several ports reports them all at once.
        const errors = err instanceof StartupError ? err.failures.map((f) => f.error) : [err instanceof Error ? err : new Error(String(err))];
        for (const error of errors) failures.push({ service: m.name, error });
        const message = errors.map((e) => e.message).join('; ');
        failed.set(m.name, message);
        // Stack traces only at debug level when the StartupError below says what to do.
        if (!(err instanceof LabnetError)) log[options.tolerateFailures ? 'error' : 'debug']({ err }, `service ${m.name} failed to start: ${message}`);
        events.publish({ type: 'service.state', service: m.name, state: 'failed', detail: message });
        return;
      }
      running.push(service);
      events.publish({ type: 'service.state', service: m.name, state: 'listening' });
    }),
  );

  const stop = async (): Promise<void> => {
    await Promise.all(
      running.map(async (s) => {
        try {
          await s.stop({ timeoutMs: runtime.shutdownGraceMs });
        } catch (err) {
          logger.warn({ err, service: s.name }, 'error while stopping');
        }
        events.publish({ type: 'service.state', service: s.name, state: 'stopped' });
      }),
    );
    running.length = 0;
    await container.get<PacketCapture>(TOKENS.Capture).stop();
    await providers.stop();
    container.get<Accounts>(TOKENS.Accounts).close();
  };

  const fatal = (f: StartFailure): boolean => f.error instanceof LabnetError && (f.error.code === 'LISTEN_FAILED' || f.error.code === 'SERVICE_REFUSED');
  if (failures.length > 0 && (!options.tolerateFailures || failures.some(fatal))) {
    await stop();
    throw new StartupError(failures);
  }

  const services: Record<string, ServiceHandle> = {};
  for (const m of enabled) {
    const s = running.find((r) => r.name === m.name);
    const listeners = s ? s.listeners() : [];
    services[m.name] = {
      name: m.name,
      state: s ? 'running' : 'failed',
      listeners,
      port: listeners[0]?.port ?? 0,
      address: listeners[0]?.address ?? config.listen,
      ...(failed.has(m.name) ? { error: failed.get(m.name) } : {}),
    };
  }

  const statusAll = (): ServiceStatus[] => {
    const out: ServiceStatus[] = running.map((s) => s.status());
    for (const [name, error] of failed) out.push({ name, state: 'failed', listeners: [], error });
    return out;
  };
  board.setSource(statusAll);
  // The packet capture follows the bound listeners (port 0, --port-offset), so it starts last.
  await container.get<PacketCapture>(TOKENS.Capture).start(statusAll(), needs.has('tls') ? container.get<TlsMaterial>(TOKENS.Tls) : undefined);

  let stopping: Promise<void> | undefined;
  return {
    config,
    events,
    logger,
    services,
    port(service, listener) {
      const s = services[service];
      if (!s) throw new LabnetError('UNKNOWN_SERVICE', `service "${service}" is not running`);
      const l = listener ? s.listeners.find((x) => x.name === listener) : s.listeners[0];
      if (!l) throw new LabnetError('UNKNOWN_SERVICE', `service "${service}" has no listener "${listener}"`);
      return l.port;
    },
    status: statusAll,
    get<T>(token: symbol): T {
      return container.get<T>(token);
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}
