// Who may receive mail here (RFC 5321 section 3.6.2, 4.5.1): local users of `domain` and `hostname`
// (local part case-insensitive, `+detail` sub-addresses), postmaster, the catch-all mailbox; with the
// auto-create switch any syntactically usable local part; foreign domains only for an authenticated
// session, and even then the mail is captured in the catch-all mailbox instead of being relayed.
import type { Accounts } from '../../core/auth.js';
import { checkUserName } from '../../core/mail-store/index.js';
import type { Mailbox } from './address.js';
import { REPLY, type SmtpReply } from './replies.js';

export type Recipient = { kind: 'local'; address: string; user: string } | { kind: 'relay'; address: string };

/** The decision and the reply to RCPT that says it. */
export type RecipientDecision = { ok: true; recipient: Recipient; reply: SmtpReply } | { ok: false; reply: SmtpReply };

export interface PolicyOptions {
  domain: string;
  hostname: string;
  catchAllMailbox: string;
  autoCreateMailboxes: boolean;
}

export class RecipientPolicy {
  private readonly localDomains: Set<string>;

  constructor(
    private readonly options: PolicyOptions,
    private readonly accounts: Accounts,
  ) {
    this.localDomains = new Set([options.domain.toLowerCase(), options.hostname.toLowerCase()]);
  }

  isLocalDomain(domain: string): boolean {
    return this.localDomains.has(domain.toLowerCase());
  }

  decide(mailbox: Mailbox | null, postmaster: boolean, authenticated: boolean): RecipientDecision {
    const catchAll = this.options.catchAllMailbox;
    if (postmaster || !mailbox) {
      return { ok: true, recipient: { kind: 'local', address: 'postmaster', user: catchAll }, reply: REPLY.recipientOk };
    }
    const shown = `<${mailbox.address}>`;
    if (!this.isLocalDomain(mailbox.domain)) {
      if (!authenticated) return { ok: false, reply: REPLY.relayDenied(shown) };
      return { ok: true, recipient: { kind: 'relay', address: mailbox.address }, reply: REPLY.recipientCaptured(catchAll) };
    }
    const local = mailbox.localValue.toLowerCase();
    const plus = local.indexOf('+');
    const candidates = plus > 0 ? [local, local.slice(0, plus)] : [local];
    for (const user of candidates) {
      if (this.accounts.exists(user) || user === catchAll) {
        return { ok: true, recipient: { kind: 'local', address: mailbox.address, user }, reply: REPLY.recipientOk };
      }
    }
    if (local === 'postmaster' || local === 'abuse') {
      return { ok: true, recipient: { kind: 'local', address: mailbox.address, user: catchAll }, reply: REPLY.recipientOk };
    }
    if (this.options.autoCreateMailboxes) {
      try {
        checkUserName(local);
        return { ok: true, recipient: { kind: 'local', address: mailbox.address, user: local }, reply: REPLY.recipientCreated };
      } catch {
        // falls through to "unknown"
      }
    }
    return { ok: false, reply: REPLY.unknownUser(shown) };
  }
}
