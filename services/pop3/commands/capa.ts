// CAPA (RFC 2449 section 5): the capability list for the current state.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const capaCommand: Pop3Command = {
  name: 'CAPA',
  states: ['AUTHORIZATION', 'TRANSACTION'],
  maxArgs: 0,
  usage: 'CAPA',
  handler(ctx) {
    ctx.sendMultiline(okLine('capability list follows'), ctx.deps.capabilities.lines(ctx.state, ctx));
  },
};
