// STARTTLS (RFC 3501 section 6.2.1, RFC 2595). The TLS issue wires it: it sets
// `ImapShared.starttls` (which also makes CAPABILITY list STARTTLS). Until then the command answers
// BAD, like any command the server does not offer.
import { NOT_AUTHED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';

export const starttls: ImapCommand = {
  name: 'STARTTLS',
  states: NOT_AUTHED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  async handler(s, cmd) {
    const upgrade = s.shared.starttls;
    if (!upgrade || s.conn.isTls) throw bad('STARTTLS is not available');
    // The OK goes out in plaintext; then the handshake; the client must ask for CAPABILITY again.
    s.send(`${cmd.tag} OK Begin TLS negotiation now`);
    s.uncork();
    await upgrade(s);
    return '';
  },
};
