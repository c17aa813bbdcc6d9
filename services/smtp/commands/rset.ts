// RSET (RFC 5321 section 4.1.1.5): drops the transaction, keeps the greeting and authentication.
import { ANY_STATE, type SmtpCommand } from './types.js';

export const rset: SmtpCommand = {
  name: 'RSET',
  states: ANY_STATE,
  maxArgs: 0,
  handler(s) {
    s.resetTransaction();
    s.reply(250, 'Ok', '2.0.0');
  },
};
