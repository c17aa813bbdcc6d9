// The programmatic entry point, for test suites (the way GreenMail is used from JUnit):
//   const lab = await startLabnet({ defaults: false, config: { listen: '127.0.0.1', ... } });
//   await lab.mail.waitFor({ to: 'alice@lab.test' }); ...; await lab.stop();
export { startLabnet, loadConfig } from './labnet.js';
export type { StartOptions, LabnetHandle, ServiceHandle } from '../core/host.js';
export type { LabnetConfig } from '../core/config.js';
export { EventBus, type ProtocolEvent, type Subscription } from '../core/events.js';
export { TOKENS } from '../core/tokens.js';
export { LabnetError, ListenError, StartupError, EXIT_CODES, type LabnetErrorCode, type StartFailure } from '../core/errors.js';
export type { Service, ServiceModule, ServiceStatus, ListenerInfo } from '../core/service.js';
export type { Labnet, LabMail, LabUsers, LabUser, LabClients, SmtpClientOptions, ImapClientOptions } from '../core/mail-api/lab-handle.js';
export { WaitForTimeoutError } from '../core/mail-api/mail-api.js';
export type {
  ParsedMessage,
  MessageSummary,
  MessageLocation,
  MessageAttachment,
  MailAddress,
  AddressList,
  HeaderLine,
  MessageQuery,
  WaitForOptions,
  TextMatch,
} from '../core/mail-api/types.js';
