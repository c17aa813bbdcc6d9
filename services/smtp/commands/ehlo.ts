// EHLO (RFC 5321 section 4.1.1.1) and the extensions we implement. RFC 2034 section 4: no enhanced
// code on the EHLO reply. STARTTLS is listed when the session's TLS policy offers it.
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const ehlo: SmtpCommand = {
  name: 'EHLO',
  states: ANY_STATE,
  minArgs: 1,
  handler(s, args) {
    s.helo = args.join(' ');
    s.esmtp = true;
    s.tx = undefined;
    s.state = 'ready';
    const lines = [
      `${s.hostname} greets ${s.helo.slice(0, 100)}`,
      'PIPELINING', // RFC 2920
      `SIZE ${s.config.maxMessageSize}`, // RFC 1870
      '8BITMIME', // RFC 6152
      'SMTPUTF8', // RFC 6531
      'ENHANCEDSTATUSCODES', // RFC 2034
      'CHUNKING', // RFC 3030
    ];
    if (s.startTlsOffered) lines.push('STARTTLS'); // RFC 3207
    if (s.user === undefined && s.authAllowed) lines.push('AUTH PLAIN LOGIN'); // RFC 4954 (LOGIN: draft-murchison-sasl-login)
    lines.push('HELP');
    s.reply(REPLY.ehlo(lines));
  },
};
