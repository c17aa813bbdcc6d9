// RCPT TO (RFC 5321 section 4.1.1.3): the recipient policy decides (policy.ts); at most 100
// recipients per transaction (section 4.5.3.1.8), the 101st gets 452 4.5.3 and may be retried.
import { parsePathArgument } from '../address.js';
import { LIMITS } from '../limits.js';
import { REPLY } from '../replies.js';
import type { SmtpCommand } from './types.js';

export const rcpt: SmtpCommand = {
  name: 'RCPT',
  states: ['mail', 'rcpt'],
  minArgs: 1,
  async handler(s, _args, line) {
    const tx = s.tx!;
    if (tx.recipients.length >= LIMITS.recipients) {
      s.reply(REPLY.tooManyRecipients);
      return;
    }
    const parsed = parsePathArgument(line.slice(5), 'TO');
    if (!parsed.ok) {
      s.reply(parsed.reply);
      s.bad();
      return;
    }
    if (parsed.params.size > 0) {
      s.reply(REPLY.unsupportedParameter([...parsed.params.keys()][0]));
      return;
    }
    if (parsed.mailbox?.utf8 && !tx.smtputf8) {
      s.reply(REPLY.recipientNeedsSmtputf8);
      return;
    }
    const decision = s.ctx.policy.decide(parsed.mailbox, parsed.postmaster, s.user !== undefined);
    if (!decision.ok) {
      s.ctx.stats.rejectedRecipients++;
      s.reply(decision.reply);
      return;
    }
    // A full mailbox is refused here, for this recipient alone (452 4.2.2, as Postfix and Dovecot's
    // LMTP do), so a transaction to many recipients is delivered to the others or not at all.
    const r = decision.recipient;
    if (r.kind === 'local' && !(await s.ctx.store.quotaAllows(r.user, 1, 1).catch(() => true))) {
      s.ctx.stats.rejectedRecipients++;
      s.reply(REPLY.mailboxFull);
      return;
    }
    tx.recipients.push(decision.recipient);
    s.state = 'rcpt';
    s.reply(decision.reply);
  },
};
