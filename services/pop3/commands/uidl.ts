// UIDL [msg] (RFC 1939 section 7): "number unique-id", the store's stable name for each message.
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const uidlCommand: Pop3Command = {
  name: 'UIDL',
  states: ['TRANSACTION'],
  maxArgs: 1,
  usage: 'UIDL [message-number]',
  handler(ctx, args) {
    const drop = ctx.drop;
    if (args.length === 1) {
      const n = drop.resolve(args[0]);
      ctx.send(okLine(`${n} ${drop.entry(n).uid}`));
      return;
    }
    const lines: string[] = [];
    for (let n = 1; n <= drop.highest; n++) if (!drop.isDeleted(n)) lines.push(`${n} ${drop.entry(n).uid}`);
    ctx.sendMultiline(okLine('unique-id listing follows'), lines);
  },
};
