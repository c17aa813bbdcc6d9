// APOP name digest (RFC 1939 section 7): digest = MD5(greeting timestamp + shared secret), 32 hex
// digits, so the password never crosses the wire. The server needs the clear password for that: an
// account of the class roster (stored as a scrypt hash) cannot use APOP and is told which commands to
// use instead; with no clear-password account at all the greeting carries no timestamp.
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
    const accounts = ctx.deps.accounts;
    const user = accounts.localUser(login);
    if (!accounts.testMode && user !== undefined && accounts.isHashed(user)) {
      ctx.authEvent(user, false, 'APOP');
      throw new Pop3Error(
        'AUTH_FAILED',
        'APOP is not available for this account (its password is stored hashed): use USER/PASS or AUTH PLAIN, over TLS',
        'AUTH',
      );
    }
    const result = accounts.verifyApop(login, ctx.timestamp, digest.toLowerCase());
    ctx.authEvent(result.user ?? login, result.ok, 'APOP');
    if (!result.ok || !result.user) throw new Pop3Error('AUTH_FAILED', 'invalid user name or digest', 'AUTH');
    await ctx.openMaildrop(result.user, 'APOP');
  },
};
