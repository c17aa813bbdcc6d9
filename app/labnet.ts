// The composition root: joins the generic host (core/) with the service registry (services/). Only
// this folder imports both; the CLI and the programmatic entry point start labnet through here.
import { loadConfig as loadHostConfig, startHost, type StartOptions } from '../core/host.js';
import type { LabnetConfig } from '../core/config.js';
import { withTestApi, type Labnet } from '../core/mail-api/lab-handle.js';
import { serviceModules } from '../services/index.js';

/** Starts labnet: every enabled service of the registry (or `options.modules`), with the test-suite API. */
export async function startLabnet(options: StartOptions = {}): Promise<Labnet> {
  return withTestApi(await startHost(options, serviceModules));
}

/** The validated config for these options, over every registered service's schema. */
export function loadConfig(options: StartOptions): LabnetConfig {
  return loadHostConfig(options, options.modules ?? serviceModules);
}
