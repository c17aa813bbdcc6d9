// The service contract. A service is one folder under services/, registered with one line in
// services/index.ts. It declares its name, its config schema (with defaults) and an injectable class
// implementing `Service`; the composition root (core/host.ts) binds every enabled one to TOKENS.Service.
import type { z } from 'zod';

export interface ListenerInfo {
  /** 'http', 'smtp', 'submission', 'smtps', 'dhcp'... */
  name: string;
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  tls?: boolean;
}

export type ServiceState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  listeners: ListenerInfo[];
  connections?: number;
  accepted?: number;
  bytesIn?: number;
  bytesOut?: number;
  error?: string;
  /** Service-specific figures (leases, messages delivered...). */
  detail?: Record<string, unknown>;
}

export interface Service {
  readonly name: string;
  /** Binds its listeners and starts serving. Rejects with ListenError when a port can't be bound. */
  start(): Promise<void>;
  /** Stops accepting, lets busy sessions finish for up to timeoutMs, then closes them. */
  stop(options: { timeoutMs: number }): Promise<void>;
  /** Bound listeners (after start). */
  listeners(): ListenerInfo[];
  status(): ServiceStatus;
}

export interface ServiceModule {
  name: string;
  description: string;
  /** Strict zod object with defaults for every key; must include `enabled` and `port`. */
  configSchema: z.ZodType<{ enabled: boolean; port: number }>;
  /** An @injectable() class whose constructor parameters each carry @inject(TOKEN). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  serviceClass: new (...args: any[]) => Service;
  /** Core providers this service needs beyond the basics ('mailStore', 'tls'); the host binds them lazily. */
  needs?: ReadonlyArray<'mailStore' | 'tls'>;
  /** Other names `--only` accepts for this service (names of services merged into it). */
  aliases?: readonly string[];
  /**
   * Rewrites an older layout of one config source's `services` object (a file or an options object)
   * in place before validation; returns one note per rewrite, logged as a warning at start.
   * `standalone`: the source is the whole config (started without the packaged defaults).
   */
  migrateConfig?: (services: Record<string, unknown>, context: { standalone: boolean }) => string[];
  /** Config keys of UDP ports (e.g. DHCP's `port`): --port-offset, which moves TCP ports, leaves them alone. */
  udpPorts?: readonly string[];
}
