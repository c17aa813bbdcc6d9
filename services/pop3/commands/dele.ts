// DELE msg (RFC 1939 section 5): only marks the message; it is removed in UPDATE after QUIT.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const deleCommand: Pop3Command = {
  name: 'DELE',
  states: ['TRANSACTION'],
  minArgs: 1,
  maxArgs: 1,
  usage: 'DELE message-number',
  handler(ctx, args) {
    const n = ctx.drop.resolve(args[0]);
    ctx.drop.markDeleted(n);
    ctx.send(okLine(`message ${n} marked as deleted`));
  },
};
