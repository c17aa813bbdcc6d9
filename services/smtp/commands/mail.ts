// MAIL FROM (RFC 5321 section 4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531)
// and AUTH= (RFC 4954 section 5) parameters. On the submission port AUTH comes first (RFC 6409 4.3).
import { parsePathArgument } from '../address.js';
import { REPLY } from '../replies.js';
import type { SmtpCommand } from './types.js';

export const mail: SmtpCommand = {
  name: 'MAIL',
  states: ['ready'],
  minArgs: 1,
  handler(s, _args, line) {
    if (s.submission && s.user === undefined) {
      s.reply(REPLY.authRequired);
      return;
    }
    const parsed = parsePathArgument(line.slice(5), 'FROM');
    if (!parsed.ok) {
      s.reply(parsed.reply);
      s.bad();
      return;
    }
    let smtputf8 = false;
    let body: '7BIT' | '8BITMIME' = '7BIT';
    for (const [key, value] of parsed.params) {
      if (key === 'SIZE') {
        if (value === undefined || !/^\d{1,20}$/.test(value)) {
          s.reply(REPLY.badSize);
          return;
        }
        if (Number(value) > s.config.maxMessageSize) {
          s.reply(REPLY.declaredSizeTooBig(s.config.maxMessageSize));
          return;
        }
      } else if (key === 'BODY') {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') {
          s.reply(REPLY.unsupportedBody(value));
          return;
        }
        body = v;
      } else if (key === 'SMTPUTF8') {
        if (value !== undefined) {
          s.reply(REPLY.smtputf8TakesNoValue);
          return;
        }
        smtputf8 = true;
      } else if (key !== 'AUTH') {
        s.reply(REPLY.unsupportedParameter(key));
        return;
      }
    }
    if (parsed.mailbox?.utf8 && !smtputf8) {
      s.reply(REPLY.senderNeedsSmtputf8);
      return;
    }
    s.tx = { from: parsed.mailbox, smtputf8, body, recipients: [] };
    s.state = 'mail';
    s.reply(REPLY.senderOk);
  },
};
