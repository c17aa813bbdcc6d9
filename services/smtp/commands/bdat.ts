// BDAT (RFC 3030 CHUNKING): `BDAT <size> [LAST]` followed by exactly size octets. The octets are
// always consumed, even when the command is refused, so they can never be read as commands.
import { messageExcerpt } from '../../../core/events.js';
import { CrlfNormalizer } from '../crlf-normalizer.js';
import { LIMITS } from '../limits.js';
import { REPLY } from '../replies.js';
import { ANY_STATE, type SmtpCommand } from './types.js';

export const bdat: SmtpCommand = {
  name: 'BDAT',
  states: ANY_STATE,
  minArgs: 1,
  maxArgs: 2,
  async handler(s, args) {
    const [sizeText, lastText] = args as [string, string | undefined];
    if (!/^\d{1,15}$/.test(sizeText) || (lastText !== undefined && lastText.toUpperCase() !== 'LAST')) {
      s.reply(REPLY.syntax('BDAT'));
      s.bad();
      return;
    }
    const size = Number(sizeText);
    const last = lastText !== undefined;
    const tx = s.state === 'rcpt' ? s.tx : undefined;
    const max = s.config.maxMessageSize;
    const state = tx ? (tx.bdat ??= { chunks: [], size: 0, overflow: false, normalizer: new CrlfNormalizer() }) : undefined;
    const take = (b: Buffer): void => {
      if (!state) return;
      state.size += b.length;
      if (state.overflow) return;
      if (state.size > max) {
        state.overflow = true;
        state.chunks = [];
        return;
      }
      state.chunks.push(b);
    };
    const complete = await s.withDataTimeout(async () => {
      let remaining = size;
      while (remaining > 0) {
        const chunk = await s.expectChunk(Math.min(remaining, LIMITS.bdatReadChunk));
        if (!chunk) return false;
        remaining -= chunk.length;
        if (state) for (const b of state.normalizer.push(chunk)) take(b);
      }
      return true;
    });
    if (!complete) {
      s.ending = true;
      return;
    }
    if (!tx || !state) {
      s.reply(s.sequenceHint('BDAT'));
      s.bad();
      return;
    }
    if (state.overflow) {
      s.resetTransaction();
      s.reply(REPLY.messageTooBig(max));
      return;
    }
    if (!last) {
      s.reply(REPLY.chunkReceived(size));
      return;
    }
    for (const b of state.normalizer.end()) take(b);
    s.commandEvent(
      `<message data: ${state.size} octets in chunks${state.normalizer.bare > 0 ? `, ${state.normalizer.bare} bare CR/LF normalised` : ''}>`,
      'BDAT',
      () => messageExcerpt(state.chunks),
      state.size,
    );
    if (state.overflow) {
      s.resetTransaction();
      s.reply(REPLY.messageTooBig(max));
      return;
    }
    await s.deliver(state.chunks, state.size, 'BDAT');
  },
};
