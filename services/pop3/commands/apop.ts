// APOP name digest (RFC 1939 section 7): digest = MD5(greeting timestamp + shared secret), 32 hex
// digits, so the password never crosses the wire.
import { redactAfterWords } from '../../../core/redact.js';
import { Pop3Error } from '../replies.js';
import type { Pop3Command } from './command.js';

export const apopCommand: Pop3Command = {
  name: 'APOP',
  states: ['AUTHORIZATION'],
  minArgs: 2,
  maxArgs: 2,
  usage: 'APOP name digest',
  authentication: true,
  redact: (line) => redactAfterWords(line, 2),
  async handler(ctx, args) {
    const [login, digest] = args as [string, string];
    if (!/^[0-9a-fA-F]{32}$/.test(digest)) throw new Pop3Error('AUTH_FAILED', 'APOP digest must be 32 hexadecimal digits', 'AUTH');
    const result = ctx.deps.accounts.verifyApop(login, ctx.timestamp, digest.toLowerCase());
    ctx.authEvent(result.user ?? login, result.ok, 'APOP');
    if (!result.ok || !result.user) throw new Pop3Error('AUTH_FAILED', 'invalid user name or digest', 'AUTH');
    await ctx.openMaildrop(result.user, 'APOP');
  },
};
