// NOOP (RFC 5321 section 4.1.1.9): an argument is allowed and ignored.
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const noop: SmtpCommand = {
  name: 'NOOP',
  states: ANY_STATE,
  handler(s) {
    s.reply(REPLY.ok);
  },
};
