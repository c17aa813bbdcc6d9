// STLS (RFC 2595 section 4). Offered when the session's TLS policy says so (tls.offerStartTls, TLS
// material, a plain connection). After STLS the client starts over (a fresh CAPA; a USER name given
// before is forgotten), and whatever it pipelined after STLS is discarded by the core upgrade, never
// executed.
import { okLine, Pop3Error } from '../replies.js';
import type { Pop3Command } from './command.js';

export const stlsCommand: Pop3Command = {
  name: 'STLS',
  states: ['AUTHORIZATION'],
  maxArgs: 0,
  usage: 'STLS',
  async handler(ctx) {
    // RFC 2595 section 4: -ERR when TLS is already active.
    if (ctx.conn.isTls) throw new Pop3Error('TLS_ACTIVE', 'TLS is already active');
    if (!ctx.startTlsOffered) throw new Pop3Error('TLS_UNAVAILABLE', 'STLS is not offered on this server');
    ctx.send(okLine('Begin TLS negotiation'));
    await ctx.startTls();
  },
};
