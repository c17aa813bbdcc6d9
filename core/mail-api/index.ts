// The test-suite API: `lab.mail` / `lab.users` in process (lab-handle.ts) and the REST API under
// /api/v1/ (rest/). Bound with the mail store by core/providers.ts.
import type { Container } from 'inversify';
import type { Logger } from 'pino';
import type { Accounts } from '../auth.js';
import type { LabnetConfig } from '../config.js';
import type { EventBus } from '../events.js';
import type { FaultInjector } from '../faults/index.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import { TOKENS } from '../tokens.js';
import { MailApi } from './mail-api.js';
import { apiEnabled } from './rest/api-auth.js';
import { addApiRoutes } from './rest/api-routes.js';

export { MailApi, WaitForTimeoutError } from './mail-api.js';
export type * from './types.js';

/** Binds TOKENS.MailApi; its start publishes the REST routes on every HTTP site. */
export function bindMailApi(container: Container): { start(): Promise<void>; stop(): Promise<void> } {
  container.bind(TOKENS.MailApi).to(MailApi).inSingletonScope();
  return {
    start() {
      const config = container.get<LabnetConfig>(TOKENS.Config);
      addApiRoutes(container.get<HttpRouteRegistry>(TOKENS.HttpRoutes), {
        config,
        accounts: container.get<Accounts>(TOKENS.Accounts),
        events: container.get<EventBus>(TOKENS.Events),
        mail: container.get<MailApi>(TOKENS.MailApi),
        faults: container.isBound(TOKENS.Faults) ? container.get<FaultInjector>(TOKENS.Faults) : undefined,
      });
      if (apiEnabled(config)) {
        const how = [config.api.token !== '' ? 'bearer token' : '', config.instructors.length > 0 ? `instructors ${config.instructors.join(', ')}` : '']
          .filter(Boolean)
          .join(' or ');
        container.get<Logger>(TOKENS.Logger).info(`REST API on at /api/v1/ (HTTP and HTTPS; ${how})`);
      }
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}
