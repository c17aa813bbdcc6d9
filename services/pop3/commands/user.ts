// USER name (RFC 1939 section 7). The reply is the same whether or not the name exists, so the
// server does not tell a stranger which accounts there are; PASS decides.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const userCommand: Pop3Command = {
  name: 'USER',
  states: ['AUTHORIZATION'],
  minArgs: 1,
  maxArgs: 1,
  usage: 'USER name',
  authentication: true,
  handler(ctx, args) {
    ctx.pendingUser = args[0]!;
    ctx.send(okLine('send PASS'));
  },
};
