// QUIT (RFC 1939 sections 4 and 6): in AUTHORIZATION just goodbye; in TRANSACTION it enters UPDATE,
// where the messages marked as deleted are really removed.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const quitCommand: Pop3Command = {
  name: 'QUIT',
  states: ['AUTHORIZATION', 'TRANSACTION'],
  maxArgs: 0,
  usage: 'QUIT',
  async handler(ctx) {
    if (ctx.state === 'TRANSACTION') {
      await ctx.update();
      return;
    }
    ctx.ending = true;
    ctx.send(okLine(`${ctx.deps.implementation} POP3 server signing off`));
  },
};
