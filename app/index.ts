// The programmatic entry point, for test suites (the way GreenMail is used from JUnit):
//   const lab = await startLabnet({ defaults: false, config: { listen: '127.0.0.1', ... } });
//   lab.port('smtp'); ...; await lab.stop();
export { startLabnet, loadConfig } from './labnet.js';
export type { StartOptions, LabnetHandle, ServiceHandle } from '../core/host.js';
export { EventBus, type ProtocolEvent, type Subscription } from '../core/events.js';
export { TOKENS } from '../core/tokens.js';
export { LabnetError, ListenError, StartupError, EXIT_CODES, type StartFailure } from '../core/errors.js';
export type { Service, ServiceModule, ServiceStatus, ListenerInfo } from '../core/service.js';
