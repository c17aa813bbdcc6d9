// LIST [msg] (RFC 1939 section 5): "number size" per message not marked as deleted.
import { okLine, plural } from '../replies.js';
import type { Pop3Command } from './command.js';

export const listCommand: Pop3Command = {
  name: 'LIST',
  states: ['TRANSACTION'],
  maxArgs: 1,
  usage: 'LIST [message-number]',
  handler(ctx, args) {
    const drop = ctx.drop;
    if (args.length === 1) {
      const n = drop.resolve(args[0]);
      ctx.send(okLine(`${n} ${drop.entry(n).size}`));
      return;
    }
    const lines: string[] = [];
    for (let n = 1; n <= drop.highest; n++) if (!drop.isDeleted(n)) lines.push(`${n} ${drop.entry(n).size}`);
    ctx.sendMultiline(okLine(`${plural(drop.count, 'message')} (${drop.size} octets)`), lines);
  },
};
