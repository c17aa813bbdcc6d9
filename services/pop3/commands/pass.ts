// PASS string (RFC 1939 section 7). The whole rest of the line is the password (spaces included).
// A failure is -ERR [AUTH] (RFC 3206 section 4) and the client may try again with USER.
import { redactAfterWords } from '../../../core/redact.js';
import { Pop3Error } from '../replies.js';
import type { Pop3Command } from './command.js';

export const passCommand: Pop3Command = {
  name: 'PASS',
  states: ['AUTHORIZATION'],
  minArgs: 1,
  usage: 'PASS password (after USER name)',
  authentication: true,
  redact: (line) => redactAfterWords(line, 1),
  async handler(ctx, _args, rest) {
    const login = ctx.pendingUser;
    if (login === undefined) throw new Pop3Error('BAD_SYNTAX', 'send USER first');
    ctx.pendingUser = undefined;
    const result = await ctx.deps.accounts.verifyAsync(login, rest);
    ctx.authEvent(result.user ?? login, result.ok, 'USER/PASS');
    if (!result.ok || !result.user) throw new Pop3Error('AUTH_FAILED', 'invalid user name or password', 'AUTH');
    await ctx.openMaildrop(result.user, 'USER/PASS');
  },
};
