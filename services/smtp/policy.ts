// Who may receive mail here (RFC 5321 section 3.6.2, 4.5.1): local users of `domain` and `hostname`
// (local part case-insensitive, `+detail` sub-addresses), postmaster, the catch-all mailbox; with the
// auto-create switch any syntactically usable local part; foreign domains only for an authenticated
// session, and even then the mail is captured in the catch-all mailbox instead of being relayed.
import type { Accounts } from '../../core/auth.js';
import { checkUserName } from '../../core/mail-store/index.js';
import type { Mailbox } from './address.js';

export type Recipient = { kind: 'local'; address: string; user: string } | { kind: 'relay'; address: string };

export type RecipientDecision =
  { ok: true; recipient: Recipient; text: string; enhanced: string } | { ok: false; code: number; enhanced: string; text: string };

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
      return { ok: true, recipient: { kind: 'local', address: 'postmaster', user: catchAll }, enhanced: '2.1.5', text: 'Ok' };
    }
    const shown = `<${mailbox.address}>`;
    if (!this.isLocalDomain(mailbox.domain)) {
      if (!authenticated) return { ok: false, code: 554, enhanced: '5.7.1', text: `${shown}: Relay access denied` };
      return {
        ok: true,
        recipient: { kind: 'relay', address: mailbox.address },
        enhanced: '2.1.5',
        text: `Ok (not relayed: captured in the ${catchAll} mailbox)`,
      };
    }
    const local = mailbox.localValue.toLowerCase();
    const plus = local.indexOf('+');
    const candidates = plus > 0 ? [local, local.slice(0, plus)] : [local];
    for (const user of candidates) {
      if (this.accounts.exists(user) || user === catchAll) {
        return { ok: true, recipient: { kind: 'local', address: mailbox.address, user }, enhanced: '2.1.5', text: 'Ok' };
      }
    }
    if (local === 'postmaster' || local === 'abuse') {
      return { ok: true, recipient: { kind: 'local', address: mailbox.address, user: catchAll }, enhanced: '2.1.5', text: 'Ok' };
    }
    if (this.options.autoCreateMailboxes) {
      try {
        checkUserName(local);
        return { ok: true, recipient: { kind: 'local', address: mailbox.address, user: local }, enhanced: '2.1.5', text: 'Ok (mailbox created on delivery)' };
      } catch {
        // falls through to "unknown"
      }
    }
    return { ok: false, code: 550, enhanced: '5.1.1', text: `${shown}: Recipient address rejected: User unknown in local recipient table` };
  }
}
