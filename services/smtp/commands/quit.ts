// QUIT (RFC 5321 section 4.1.1.10).
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const quit: SmtpCommand = {
  name: 'QUIT',
  states: ANY_STATE,
  maxArgs: 0,
  handler(s) {
    s.reply(REPLY.bye);
    s.ending = true;
  },
};
