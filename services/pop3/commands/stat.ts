// STAT (RFC 1939 section 5): "+OK count octets", leaving out messages marked as deleted.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const statCommand: Pop3Command = {
  name: 'STAT',
  states: ['TRANSACTION'],
  maxArgs: 0,
  usage: 'STAT',
  handler(ctx) {
    ctx.send(okLine(`${ctx.drop.count} ${ctx.drop.size}`));
  },
};
