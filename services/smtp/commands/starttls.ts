// STARTTLS (RFC 3207). Offered when the session's TLS policy says so (tls.offerStartTls, TLS material,
// a plain connection); otherwise refused with 454 4.7.0 as section 4 allows. The base runs the upgrade
// and the session then forgets the greeting, authentication and transaction (section 4.2);
// pipelined plaintext is dropped by the core.
import { REPLY } from '../replies.js';
import type { SmtpCommand } from './types.js';

export const starttls: SmtpCommand = {
  name: 'STARTTLS',
  states: ['ready'],
  maxArgs: 0,
  async handler(s) {
    if (!s.startTlsOffered) {
      s.reply(REPLY.tlsNotAvailable);
      return;
    }
    s.reply(REPLY.readyToStartTls);
    await s.startTls();
  },
};
