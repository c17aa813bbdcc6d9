// STLS (RFC 2595 section 4) and the "TLS before authentication" switch. The TLS wiring in
// pop3-service.ts adds these commands and the STLS capability; without TLS material POP3 has neither.
// After STLS the client starts over (a fresh CAPA; any USER name given before is forgotten), and
// whatever it pipelined after STLS is discarded by the core upgrade, never executed.
import type { TlsUpgradeOptions } from '../../../core/connection.js';
import { okLine, Pop3Error } from '../replies.js';
import type { Pop3Session } from '../session.js';
import type { Pop3Command } from './command.js';

export function stlsCommand(options: () => TlsUpgradeOptions): Pop3Command {
  return {
    name: 'STLS',
    states: ['AUTHORIZATION'],
    maxArgs: 0,
    usage: 'STLS',
    async handler(ctx: Pop3Session) {
      // RFC 2595 section 4: -ERR when TLS is already active.
      if (ctx.conn.isTls) throw new Pop3Error('TLS_ACTIVE', 'TLS is already active');
      ctx.send(okLine('Begin TLS negotiation'));
      ctx.flush();
      await ctx.upgradeTls(options());
      ctx.pendingUser = undefined;
    },
  };
}

/**
 * With tls.requireTlsForAuth the login commands refuse to run over plain text (and CAPA hides USER
 * and SASL): the wrapped command answers -ERR [AUTH] until STLS.
 */
export function requireTls(command: Pop3Command): Pop3Command {
  return {
    ...command,
    handler(ctx, args, rest) {
      if (!ctx.conn.isTls) throw new Pop3Error('TLS_REQUIRED', 'authentication needs TLS first: send STLS (or use the POP3S port)', 'AUTH');
      return command.handler(ctx, args, rest);
    },
  };
}
