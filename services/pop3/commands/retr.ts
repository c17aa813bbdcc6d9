// RETR msg (RFC 1939 section 5): the whole message, dot-stuffed.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const retrCommand: Pop3Command = {
  name: 'RETR',
  states: ['TRANSACTION'],
  minArgs: 1,
  maxArgs: 1,
  usage: 'RETR message-number',
  async handler(ctx, args) {
    const n = ctx.drop.resolve(args[0]);
    await ctx.sendMessage(n, okLine(`${ctx.drop.entry(n).size} octets`));
  },
};
