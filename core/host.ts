// The host: the only place that builds an inversify container. It knows no service: the service
// modules are a parameter (app/labnet.ts passes the registry in services/index.ts), so core/ never
// imports services/. Core singletons first,
// then one TOKENS.Service binding (named by the service) per enabled service. A service that throws
// while it is built or started is reported and left stopped; the others run. A port that cannot be
// bound is different: the instructor must fix it, so start-up fails with a message saying how.
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { Container } from 'inversify';
import type { Logger, LevelWithSilent } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { buildConfigSchema, defaultConfigPath, mergeConfig, parseConfig, readConfigFile, type LabnetConfig } from './config.js';
import { LabnetError, ListenError } from './errors.js';
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

export function loadConfig(options: StartOptions, modules: readonly ServiceModule[]): LabnetConfig {
  let raw: unknown = {};
  let source = 'defaults';
  if (options.defaults !== false) {
    raw = readConfigFile(defaultConfigPath());
    source = defaultConfigPath();
  }
  if (options.configFile) {
    const file = readConfigFile(options.configFile);
    // Check the file on its own first so that messages name what the user wrote.
    const schema = buildConfigSchema(modules);
    parseConfig(schema, mergeConfig({}, file), options.configFile, process.cwd());
    raw = mergeConfig(raw, file);
    source = options.configFile;
  }
  if (options.config) {
    raw = mergeConfig(raw, options.config);
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
    for (const name of options.only) {
      if (!known.has(name)) throw new LabnetError('UNKNOWN_SERVICE', `--only: unknown service "${name}"; expected some of ${[...known].join(', ')}`);
    }
    for (const m of modules) {
      const section = config.services[m.name];
      if (section) section.enabled = options.only.includes(m.name);
    }
  }
  return config;
}

/** Builds the container from the config and starts every enabled service of `registry`. */
export async function startHost(options: StartOptions, registry: readonly ServiceModule[]): Promise<LabnetHandle> {
  const modules = options.modules ?? registry;
  const config = loadConfig(options, modules);
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info', { pretty: options.prettyLogs });
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
  mkdirSync(config.dataDir, { recursive: true });

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
  const needs = new Set(enabled.flatMap((m) => m.needs ?? []));
  const providers = coreProviders(container, needs);
  for (const m of enabled) container.bind(TOKENS.Service).to(m.serviceClass).inSingletonScope().whenNamed(m.name);

  const failed = new Map<string, string>();
  const running: Service[] = [];
  const listenErrors: LabnetError[] = [];
  await providers.start();
  await Promise.all(
    enabled.map(async (m) => {
      const log = logger.child({ service: m.name });
      events.publish({ type: 'service.state', service: m.name, state: 'starting' });
      let service: Service;
      try {
        service = container.get<Service>(TOKENS.Service, { name: m.name });
        await service.start();
      } catch (err) {
        if (err instanceof ListenError || (err instanceof LabnetError && err.code === 'SERVICE_REFUSED')) {
          listenErrors.push(err);
          failed.set(m.name, err.message);
          return;
        }
        const message = err instanceof Error ? err.message : String(err);
        failed.set(m.name, message);
        log.error({ err }, `service ${m.name} failed to start and stays stopped: ${message}`);
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
  };

  if (listenErrors.length > 0) {
    await stop();
    throw listenErrors[0];
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
