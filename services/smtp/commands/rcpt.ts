// RCPT TO (RFC 5321 section 4.1.1.3): the recipient policy decides (policy.ts); at most 100
// recipients per transaction (section 4.5.3.1.8), the 101st gets 452 4.5.3 and may be retried.
import { parsePathArgument } from '../address.js';
import { LIMITS } from '../limits.js';
import type { SmtpCommand } from './types.js';

export const rcpt: SmtpCommand = {
  name: 'RCPT',
  states: ['mail', 'rcpt'],
  minArgs: 1,
  handler(s, _args, line) {
    const tx = s.tx!;
    if (tx.recipients.length >= LIMITS.recipients) {
      s.reply(452, 'Error: too many recipients', '4.5.3');
      return;
    }
    const parsed = parsePathArgument(line.slice(5), 'TO');
    if (!parsed.ok) {
      s.reply(parsed.code, parsed.text, parsed.enhanced);
      s.bad();
      return;
    }
    if (parsed.params.size > 0) {
      s.reply(555, `Unsupported parameter ${[...parsed.params.keys()][0]}`, '5.5.4');
      return;
    }
    if (parsed.mailbox?.utf8 && !tx.smtputf8) {
      s.reply(553, 'Non-ASCII recipient address needs SMTPUTF8 in MAIL FROM', '5.6.7');
      return;
    }
    const decision = s.ctx.policy.decide(parsed.mailbox, parsed.postmaster, s.user !== undefined);
    if (!decision.ok) {
      s.ctx.stats.rejectedRecipients++;
      s.reply(decision.code, decision.text, decision.enhanced);
      return;
    }
    tx.recipients.push(decision.recipient);
    s.state = 'rcpt';
    s.reply(250, decision.text, decision.enhanced);
  },
};
