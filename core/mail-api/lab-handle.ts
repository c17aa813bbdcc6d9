// What `startLabnet` gives a test suite on top of the host's handle: `lab.mail` (read back, wait,
// purge), `lab.users` (accounts at run time), `lab.caPem`, `lab.ports`, and client options for
// nodemailer and imapflow that trust the lab CA. Everything here is a thin layer over MailApi and
// Accounts, so the REST API and the in-process API answer alike.
import type { Accounts } from '../auth.js';
import { LabnetError } from '../errors.js';
import type { FaultInjector, FaultRule, FaultRuleInput } from '../faults/index.js';
import type { LabnetHandle } from '../host.js';
import { TOKENS } from '../tokens.js';
import type { TlsMaterial } from '../tls/tls-material.js';
import type { MailApi } from './mail-api.js';
import type { MessageQuery, ParsedMessage, WaitForOptions } from './types.js';

export interface LabMail {
  /** The matching messages, parsed, in arrival order (default: every mailbox's INBOX; a string: that user's). */
  messages(query?: MessageQuery | string): Promise<ParsedMessage[]>;
  /** One message by id ('alice/INBOX/3'); rejects with code NO_SUCH_MESSAGE. */
  message(id: string): Promise<ParsedMessage>;
  /**
   * Resolves with the matching messages once there are `count` (default 1) of them, counting those
   * delivered before the call; rejects with a WaitForTimeoutError (code WAIT_TIMEOUT, `arrived`,
   * `others`) after `timeoutMs` (default 10 s).
   */
  waitFor(options?: WaitForOptions): Promise<ParsedMessage[]>;
  /** Deletes every message of one mailbox, or of every mailbox; resolves with how many. */
  purge(user?: string): Promise<number>;
  /** Deletes one message; false when there was none. */
  delete(id: string): Promise<boolean>;
}

export interface LabUser {
  name: string;
  address: string;
}

export interface LabUsers {
  /** Adds an account (`dave` or `dave@<domain>`); logins work at once. Code USER_EXISTS, USER_INVALID. */
  add(name: string, password: string): LabUser;
  add(user: { name: string; password: string }): LabUser;
  /** Removes an account (its mail stays); false when there was none. */
  remove(name: string): boolean;
  /** Changes a password; code NO_SUCH_USER when there is no such account. */
  setPassword(name: string, password: string): void;
  list(): LabUser[];
}

/**
 * Fault rules (core/faults): the SMTP, POP3 and IMAP sessions ask them at the greeting, before each
 * command and at the end of an SMTP message. The first rule that matches and acts wins.
 */
export interface LabFaults {
  /** Adds a rule; returns it with its id. Codes FAULT_INVALID, FAULT_LIMIT, FAULT_EXISTS. */
  add(rule: FaultRuleInput): FaultRule;
  /** The rules in the order they are checked, with how often each matched and acted. */
  list(): FaultRule[];
  get(id: string): FaultRule | undefined;
  /** Removes one rule; false when there was none. */
  remove(id: string): boolean;
  /** Removes every rule; returns how many there were. */
  clear(): number;
}

/** Options for nodemailer.createTransport (SMTPTransport.Options). */
export interface SmtpClientOptions {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
  tls: { ca: string };
}

/** Options for new ImapFlow(...). */
export interface ImapClientOptions {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string };
  tls: { ca: string };
  logger: false;
}

export interface LabClients {
  /**
   * nodemailer transport options trusting the lab CA. With a user: the submission port (AUTH), else
   * port 25 (no AUTH); `listener: 'smtps'` for implicit TLS. STARTTLS is used where offered.
   */
  nodemailer(options?: { user?: string; password?: string; listener?: 'smtp' | 'submission' | 'smtps' }): SmtpClientOptions;
  /** imapflow options trusting the lab CA: IMAPS when it listens (`secure: false` for port 143 with STARTTLS). */
  imapflow(options: { user: string; password: string; secure?: boolean }): ImapClientOptions;
}

/** The handle `startLabnet` resolves with. */
export interface Labnet extends LabnetHandle {
  mail: LabMail;
  users: LabUsers;
  faults: LabFaults;
  /** The lab CA certificate (PEM): trust it and TLS to labnet verifies. Throws NO_TLS without a TLS service. */
  readonly caPem: string;
  /** Bound ports by listener name: smtp, submission, smtps, pop3, pop3s, imap, imaps, http, https... */
  ports: Record<string, number>;
  /** The address clients should connect to (the listen address; loopback for a wildcard). */
  host: string;
  clients: LabClients;
}

function noMailStore(): never {
  throw new LabnetError('NO_MAIL_STORE', 'no mail service is running (start smtp, pop3 or imap to get the mail store)');
}

/** Adds the test-suite API to a host handle. */
export function withTestApi(handle: LabnetHandle): Labnet {
  const config = handle.config;
  const has = (token: symbol): boolean => {
    try {
      handle.get(token);
      return true;
    } catch {
      return false;
    }
  };
  const mailApi = has(TOKENS.MailApi) ? handle.get<MailApi>(TOKENS.MailApi) : undefined;
  const accounts = handle.get<Accounts>(TOKENS.Accounts);
  const tls = has(TOKENS.Tls) ? handle.get<TlsMaterial>(TOKENS.Tls) : undefined;
  const api = (): MailApi => mailApi ?? noMailStore();
  const injector = has(TOKENS.Faults) ? handle.get<FaultInjector>(TOKENS.Faults) : undefined;
  const fi = (): FaultInjector => injector ?? noMailStore();
  const faults: LabFaults = {
    add: (rule) => fi().add(rule),
    list: () => injector?.list() ?? [],
    get: (id) => injector?.get(id),
    remove: (id) => injector?.remove(id) ?? false,
    clear: () => injector?.clear() ?? 0,
  };

  const mail: LabMail = {
    messages: async (query) => api().messages(typeof query === 'string' ? { user: query } : query),
    message: async (id) => api().message(id),
    waitFor: async (options) => api().waitFor(options),
    purge: async (user) => api().purge(user),
    delete: async (id) => api().delete(id),
  };
  const user = (name: string): LabUser => ({ name, address: `${name}@${config.domain}` });
  const users: LabUsers = {
    add: (nameOrUser: string | { name: string; password: string }, password?: string) =>
      typeof nameOrUser === 'string' ? user(accounts.add(nameOrUser, password ?? '')) : user(accounts.add(nameOrUser.name, nameOrUser.password)),
    remove: (name) => accounts.remove(name),
    setPassword: (name, password) => accounts.setPassword(name, password),
    list: () => accounts.names().map(user),
  };

  const ports: Record<string, number> = {};
  for (const s of Object.values(handle.services)) for (const l of s.listeners) ports[l.name] ??= l.port;
  const host = config.listen === '0.0.0.0' ? '127.0.0.1' : config.listen === '::' ? '::1' : config.listen;
  const caPem = (): string => {
    if (!tls) throw new LabnetError('NO_TLS', 'no TLS material: start a service that uses TLS (smtp, pop3, imap, https)');
    return tls.caPem;
  };
  const port = (name: string): number => {
    const p = ports[name];
    if (p === undefined) throw new LabnetError('UNKNOWN_SERVICE', `no "${name}" listener is running (ports: ${Object.keys(ports).join(', ') || 'none'})`);
    return p;
  };
  const clients: LabClients = {
    nodemailer(options = {}) {
      const listener = options.listener ?? (options.user !== undefined ? 'submission' : 'smtp');
      return {
        host,
        port: port(listener),
        secure: listener === 'smtps',
        ...(options.user !== undefined ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
        tls: { ca: caPem() },
      };
    },
    imapflow(options) {
      const secure = options.secure ?? ports.imaps !== undefined;
      return { host, port: port(secure ? 'imaps' : 'imap'), secure, auth: { user: options.user, pass: options.password }, tls: { ca: caPem() }, logger: false };
    },
  };

  const lab = Object.assign(handle, { mail, users, faults, ports, host, clients }) as Omit<Labnet, 'caPem'>;
  Object.defineProperty(lab, 'caPem', { get: caPem, enumerable: true });
  return lab as Labnet;
}
