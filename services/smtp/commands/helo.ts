// HELO (RFC 5321 section 4.1.1.1): plain SMTP, no extensions. Resets any transaction.
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const helo: SmtpCommand = {
  name: 'HELO',
  states: ANY_STATE,
  minArgs: 1,
  handler(s, args) {
    s.helo = args.join(' ');
    s.esmtp = false;
    s.tx = undefined;
    s.state = 'ready';
    s.reply(REPLY.helo(s.hostname));
  },
};
