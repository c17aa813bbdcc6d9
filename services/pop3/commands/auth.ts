// AUTH mechanism [initial-response] (RFC 5034) with SASL PLAIN (RFC 4616). Without an initial
// response the server sends the empty challenge "+ " and reads one response line; "*" cancels.
// "AUTH" alone lists the mechanisms (the RFC 1734 form some clients still probe with).
import { decodeSaslPlain } from '../../../core/auth.js';
import { redactAfterWords } from '../../../core/redact.js';
import { okLine, Pop3Error, quoteable } from '../replies.js';
import type { Pop3Session } from '../session.js';
import type { Pop3Command } from './command.js';

export const SASL_MECHANISMS = ['PLAIN'] as const;

export const authCommand: Pop3Command = {
  name: 'AUTH',
  states: ['AUTHORIZATION'],
  maxArgs: 2,
  usage: 'AUTH PLAIN [initial-response]',
  authentication: true,
  redact: (line) => redactAfterWords(line, 2),
  async handler(ctx, args) {
    if (args.length === 0) {
      ctx.sendMultiline(okLine('SASL mechanisms follow'), SASL_MECHANISMS);
      return;
    }
    const mechanism = args[0].toUpperCase();
    if (mechanism !== 'PLAIN') throw new Pop3Error('AUTH_MECHANISM', `unsupported authentication mechanism ${quoteable(args[0], 20)}; use PLAIN`);
    let response = args[1];
    if (response === undefined) {
      // RFC 5034 section 4: the empty challenge is "+" and a single space, nothing more.
      ctx.send('+ ');
      const line = await ctx.readSaslResponse();
      if (line === null) {
        ctx.ending = true;
        return;
      }
      response = line;
    }
    if (response === '*') throw new Pop3Error('AUTH_CANCELLED', 'authentication cancelled', undefined, false);
    await plainLogin(ctx, response);
  },
};

async function plainLogin(ctx: Pop3Session, base64: string): Promise<void> {
  // "=" is the empty initial response (RFC 5034 section 4), which PLAIN cannot use.
  const msg = base64 === '=' ? undefined : decodeSaslPlain(base64);
  if (!msg) throw new Pop3Error('AUTH_FAILED', 'malformed PLAIN response (expected base64 of authzid NUL authcid NUL password)', 'AUTH');
  const accounts = ctx.deps.accounts;
  const result = await accounts.verifyAsync(msg.authcid, msg.password);
  ctx.authEvent(result.user ?? msg.authcid, result.ok, 'AUTH PLAIN');
  if (!result.ok || !result.user) throw new Pop3Error('AUTH_FAILED', 'invalid user name or password', 'AUTH');
  // RFC 4616 section 2: acting as someone else is not allowed here; an authzid must name the same user.
  if (!accounts.authorizes(msg.authcid, msg.authzid)) {
    throw new Pop3Error('AUTH_FAILED', `not authorized to act as ${quoteable(msg.authzid)}`, 'AUTH');
  }
  await ctx.openMaildrop(result.user, 'AUTH PLAIN');
}
