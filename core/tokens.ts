// Injection tokens for the composition root (core/host.ts). Every constructor parameter of an
// injectable class carries @inject(TOKEN) explicitly: type metadata alone breaks under some loaders.
export const TOKENS = {
  /** The validated LabnetConfig. */
  Config: Symbol.for('labnet.Config'),
  /** Runtime options that are not part of the config file (port offset, forced flags). */
  Runtime: Symbol.for('labnet.Runtime'),
  /** pino Logger (root). */
  Logger: Symbol.for('labnet.Logger'),
  /** The protocol EventBus. */
  Events: Symbol.for('labnet.Events'),
  /** Clock: now() in ms; tests may replace it. */
  Clock: Symbol.for('labnet.Clock'),
  /** DataDir: absolute path of the data directory (created at start). */
  DataDir: Symbol.for('labnet.DataDir'),
  /** NetHost: creates TCP servers and UDP sockets with the shared caps, offsets and accounting. */
  Net: Symbol.for('labnet.Net'),
  /** Accounts: the lab users and password checks (SMTP AUTH, POP3, IMAP). */
  Accounts: Symbol.for('labnet.Accounts'),
  /** MailStore: the shared Maildir store (SMTP, POP3 and IMAP). */
  MailStore: Symbol.for('labnet.MailStore'),
  /** TlsMaterial: the lab CA and server certificate (HTTPS and the mail services). */
  Tls: Symbol.for('labnet.Tls'),
  /** HttpRouteRegistry: routes every HTTP site serves (e.g. /ca.crt added by the TLS material). */
  HttpRoutes: Symbol.for('labnet.HttpRoutes'),
  /** StatusBoard: every service's status, for landing pages and health checks. */
  Status: Symbol.for('labnet.Status'),
  /** LabNames: host names DHCP clients sent, bound to their leased addresses (DHCP feeds it, DNS reads it). */
  LabNames: Symbol.for('labnet.LabNames'),
  /** MailApi: parsed messages, waitFor and purge for test suites and the REST API (with the mail store). */
  MailApi: Symbol.for('labnet.MailApi'),
  /** LabHub: the live lab (/lab, `labnet watch`), bound while lab.enabled and HTTP or HTTPS runs. */
  Lab: Symbol.for('labnet.Lab'),
  /** PacketCapture: the lab's own frames, decoded, linked to sessions, exported as pcapng (core/packet). */
  Capture: Symbol.for('labnet.Capture'),
  /** FaultInjector: fault rules for test suites, the interceptor of the SMTP, POP3 and IMAP sessions (core/faults). */
  Faults: Symbol.for('labnet.Faults'),
  /** Every enabled service, multi-bound. */
  Service: Symbol.for('labnet.Service'),
} as const;
