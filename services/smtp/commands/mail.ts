// MAIL FROM (RFC 5321 section 4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531)
// and AUTH= (RFC 4954 section 5) parameters. On the submission port AUTH comes first (RFC 6409 4.3).
import { parsePathArgument } from '../address.js';
import type { SmtpCommand } from './types.js';

export const mail: SmtpCommand = {
  name: 'MAIL',
  states: ['ready'],
  minArgs: 1,
  handler(s, _args, line) {
    if (s.submission && s.user === undefined) {
      s.reply(530, 'Authentication required', '5.7.0');
      return;
    }
    const parsed = parsePathArgument(line.slice(5), 'FROM');
    if (!parsed.ok) {
      s.reply(parsed.code, parsed.text, parsed.enhanced);
      s.bad();
      return;
    }
    let smtputf8 = false;
    let body: '7BIT' | '8BITMIME' = '7BIT';
    for (const [key, value] of parsed.params) {
      if (key === 'SIZE') {
        if (value === undefined || !/^\d{1,20}$/.test(value)) {
          s.reply(501, 'Bad SIZE parameter', '5.5.4');
          return;
        }
        if (Number(value) > s.config.maxMessageSize) {
          s.reply(552, `Message size exceeds fixed maximum message size (${s.config.maxMessageSize})`, '5.3.4');
          return;
        }
      } else if (key === 'BODY') {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') {
          s.reply(555, `Unsupported BODY type ${value ?? ''}`.trim(), '5.5.4');
          return;
        }
        body = v;
      } else if (key === 'SMTPUTF8') {
        if (value !== undefined) {
          s.reply(501, 'SMTPUTF8 takes no value', '5.5.4');
          return;
        }
        smtputf8 = true;
      } else if (key !== 'AUTH') {
        s.reply(555, `Unsupported parameter ${key}`, '5.5.4');
        return;
      }
    }
    if (parsed.mailbox?.utf8 && !smtputf8) {
      s.reply(553, 'Non-ASCII sender address needs the SMTPUTF8 parameter', '5.6.7');
      return;
    }
    s.tx = { from: parsed.mailbox, smtputf8, body, recipients: [] };
    s.state = 'mail';
    s.reply(250, 'Ok', '2.1.0');
  },
};
