// USER name (RFC 1939 section 7). The reply is the same whether or not the name exists, so the
// server does not tell a stranger which accounts there are; PASS decides.
import { redactAfterWords } from '../../../core/redact.js';
import { okLine } from '../replies.js';
import type { Pop3Command } from './command.js';

export const userCommand: Pop3Command = {
  name: 'USER',
  states: ['AUTHORIZATION'],
  minArgs: 1,
  maxArgs: 1,
  usage: 'USER name',
  authentication: true,
  // `USER alice alice-lab` (the password typed on the same line) is refused for its argument count
  // and must not show the password.
  redact: (line) => redactAfterWords(line, 2),
  handler(ctx, args) {
    ctx.pendingUser = args[0]!;
    ctx.send(okLine('send PASS'));
  },
};
