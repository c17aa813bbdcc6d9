// VRFY (RFC 5321 section 3.5.3 and 7.3): we do not confirm addresses (user enumeration); 252 says
// "cannot verify, but will accept mail and attempt delivery", which RFC 5321 allows.
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const vrfy: SmtpCommand = {
  name: 'VRFY',
  states: ANY_STATE,
  minArgs: 1,
  handler(s) {
    s.reply(REPLY.cannotVrfy);
  },
};
