// NOOP (RFC 1939 section 5).
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const noopCommand: Pop3Command = {
  name: 'NOOP',
  states: ['TRANSACTION'],
  maxArgs: 0,
  usage: 'NOOP',
  handler(ctx) {
    ctx.send(okLine());
  },
};
