// The programmatic entry point, for test suites (the way GreenMail is used from JUnit):
//   const lab = await startLabnet({ defaults: false, config: { listen: '127.0.0.1', ... } });
//   lab.port('smtp'); ...; await lab.stop();
export { startLabnet, loadConfig, type StartOptions, type LabnetHandle, type ServiceHandle } from './host.js';
export { EventBus, type ProtocolEvent, type Subscription } from './events.js';
export { TOKENS } from './tokens.js';
export { LabnetError, ListenError } from './errors.js';
export type { Service, ServiceModule, ServiceStatus, ListenerInfo } from './service.js';
