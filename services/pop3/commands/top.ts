// TOP msg n (RFC 1939 section 7): the header, the blank line, and the first n lines of the body.
import { parseLineCount } from '../maildrop.js';
import { okLine, Pop3Error, quoteable } from '../replies.js';
import type { Pop3Command } from './command.js';

export const topCommand: Pop3Command = {
  name: 'TOP',
  states: ['TRANSACTION'],
  minArgs: 2,
  maxArgs: 2,
  usage: 'TOP message-number lines',
  async handler(ctx, args) {
    const n = ctx.drop.resolve(args[0]);
    const lines = parseLineCount(args[1]);
    if (lines === undefined) throw new Pop3Error('BAD_SYNTAX', `invalid line count "${quoteable(args[1], 20)}": expected a non-negative number`);
    await ctx.sendMessage(n, okLine(`top of message ${n} follows`), lines);
  },
};
