// QUIT (RFC 5321 section 4.1.1.10).
import { ANY_STATE, type SmtpCommand } from './types.js';

export const quit: SmtpCommand = {
  name: 'QUIT',
  states: ANY_STATE,
  maxArgs: 0,
  handler(s) {
    s.reply(221, 'Bye', '2.0.0');
    s.ending = true;
  },
};
