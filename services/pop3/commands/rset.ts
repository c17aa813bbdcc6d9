// RSET (RFC 1939 section 5): unmarks every message marked as deleted.
import { okLine, plural } from '../replies.js';
import type { Pop3Command } from './command.js';

export const rsetCommand: Pop3Command = {
  name: 'RSET',
  states: ['TRANSACTION'],
  maxArgs: 0,
  usage: 'RSET',
  handler(ctx) {
    ctx.drop.reset();
    ctx.send(okLine(`maildrop has ${plural(ctx.drop.count, 'message')} (${ctx.drop.size} octets)`));
  },
};
