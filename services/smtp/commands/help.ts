// HELP (RFC 5321 section 4.1.1.8).
import { ANY_STATE, type SmtpCommand } from './types.js';

export const help: SmtpCommand = {
  name: 'HELP',
  states: ANY_STATE,
  handler(s) {
    s.reply(
      214,
      [
        'labnet SMTP: commands HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP AUTH',
        `Mail for <user>@${s.ctx.domain} is delivered; mail for other domains is captured, never relayed`,
        'See RFC 5321',
      ],
      '2.0.0',
    );
  },
};
