// HELP (RFC 5321 section 4.1.1.8).
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const help: SmtpCommand = {
  name: 'HELP',
  states: ANY_STATE,
  handler(s) {
    s.reply(REPLY.help(s.ctx.domain));
  },
};
