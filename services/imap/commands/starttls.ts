// STARTTLS (RFC 3501 section 6.2.1, RFC 2595 section 3.1), offered when the session's TLS policy says
// so (tls.offerStartTls, TLS material, a plain connection). The tagged OK goes out in plain text, then
// the base runs the handshake; what the client pipelined after the command is discarded by the core
// upgrade (never executed as if it had come over TLS), and the client must ask CAPABILITY again.
import { NOT_AUTHED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';

export const starttls: ImapCommand = {
  name: 'STARTTLS',
  states: NOT_AUTHED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: false,
  handler(s) {
    if (!s.startTlsOffered) throw bad(s.conn.isTls ? 'TLS is already active' : 'STARTTLS is not available');
    s.afterReply = () => s.startTls();
    return 'OK Begin TLS negotiation now';
  },
};
