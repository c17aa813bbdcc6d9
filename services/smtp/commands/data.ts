// DATA (RFC 5321 section 4.1.1.4): the content is read by the framer's dot-data reader (through the
// session's expectDotData), which ends it only at CRLF "." CRLF (bare CR/LF never do: SMTP smuggling)
// and undoes dot-stuffing (section 4.5.2). Over SIZE: 552 5.3.4 after reading to the end, and the
// session goes on.
import { messageExcerpt } from '../../../core/events.js';
import { REPLY } from '../replies.js';
import type { SmtpCommand } from './types.js';

export const data: SmtpCommand = {
  name: 'DATA',
  states: ['rcpt'],
  maxArgs: 0,
  async handler(s) {
    if (s.tx!.bdat) {
      s.reply(REPLY.dataAfterBdat);
      return;
    }
    s.reply(REPLY.startData);
    const chunks: Buffer[] = [];
    const result = await s.withDataTimeout(() => s.expectDotData((c) => chunks.push(c), s.config.maxMessageSize));
    if (!result) {
      s.ending = true; // the client went away mid-message: nothing is delivered
      return;
    }
    s.commandEvent(
      `<message data: ${result.size} octets${result.bareLineEndings > 0 ? `, ${result.bareLineEndings} bare CR/LF normalised` : ''}>`,
      'DATA',
      () => messageExcerpt(chunks),
      result.size,
    );
    if (result.overflow) {
      s.resetTransaction();
      s.reply(REPLY.messageTooBig(s.config.maxMessageSize));
      return;
    }
    await s.deliver(chunks, result.size, 'DATA');
  },
};
