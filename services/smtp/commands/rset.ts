// RSET (RFC 5321 section 4.1.1.5): drops the transaction, keeps the greeting and authentication.
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const rset: SmtpCommand = {
  name: 'RSET',
  states: ANY_STATE,
  maxArgs: 0,
  handler(s) {
    s.resetTransaction();
    s.reply(REPLY.ok);
  },
};
