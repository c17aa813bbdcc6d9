// DATA (RFC 5321 section 4.1.1.4): the content is read by the core framer's readDotData, which ends
// it only at CRLF "." CRLF (bare CR/LF never do: SMTP smuggling) and undoes dot-stuffing
// (section 4.5.2). Over SIZE: 552 5.3.4 after reading to the end, and the session goes on.
import type { SmtpCommand } from './types.js';

export const data: SmtpCommand = {
  name: 'DATA',
  states: ['rcpt'],
  maxArgs: 0,
  async handler(s) {
    if (s.tx!.bdat) {
      s.reply(503, 'Error: DATA cannot follow BDAT in one transaction', '5.5.1');
      return;
    }
    s.reply(354, 'End data with <CR><LF>.<CR><LF>', null);
    const chunks: Buffer[] = [];
    const result = await s.withDataTimeout(() => s.conn.framer.readDotData((c) => chunks.push(c), s.config.maxMessageSize));
    if (result)
      s.commandEvent(`<message data: ${result.size} octets${result.bareLineEndings > 0 ? `, ${result.bareLineEndings} bare CR/LF normalised` : ''}>`, 'DATA');
    if (!result) {
      s.ending = true; // the client went away mid-message: nothing is delivered
      return;
    }
    if (result.overflow) {
      s.resetTransaction();
      s.reply(552, `Error: message exceeds fixed maximum message size (${s.config.maxMessageSize})`, '5.3.4');
      return;
    }
    await s.deliver(chunks, result.size);
  },
};
