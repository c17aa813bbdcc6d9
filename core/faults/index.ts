// Fault injection for test suites (rules.ts: the rule schema and bounds; fault-injector.ts: the
// interceptor the line sessions ask). Bound as TOKENS.Faults with the mail store (core/providers.ts).
export { describe as describeFault, FaultInjector } from './fault-injector.js';
export * from './rules.js';
