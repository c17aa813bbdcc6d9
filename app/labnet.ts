// The composition root: joins the generic host (core/) with the service registry (services/). Only
// this folder imports both; the CLI and the programmatic entry point start labnet through here.
import { loadConfig as loadHostConfig, startHost, type LabnetHandle, type StartOptions } from '../core/host.js';
import type { LabnetConfig } from '../core/config.js';
import { serviceModules } from '../services/index.js';

/** Starts labnet: every enabled service of the registry (or `options.modules`). */
export function startLabnet(options: StartOptions = {}): Promise<LabnetHandle> {
  return startHost(options, serviceModules);
}

/** The validated config for these options, over every registered service's schema. */
export function loadConfig(options: StartOptions): LabnetConfig {
  return loadHostConfig(options, options.modules ?? serviceModules);
}
