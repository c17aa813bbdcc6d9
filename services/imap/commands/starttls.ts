// STARTTLS (RFC 3501 section 6.2.1, RFC 2595 section 3.1). The tagged OK goes out in plain text,
// then the handshake starts; what the client pipelined after the command is discarded by the core
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
    const hook = s.shared.starttls;
    if (!hook || s.conn.isTls) throw bad(s.conn.isTls ? 'TLS is already active' : 'STARTTLS is not available');
    s.afterReply = () => hook(s);
    return 'OK Begin TLS negotiation now';
  },
};
