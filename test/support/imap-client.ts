// An imapflow client for the tests: plain IMAP on loopback (no STARTTLS), quiet logger.
import { ImapFlow, type ImapFlowOptions } from 'imapflow';

export function plainImapFlow(port: number, user: string, pass: string, extra: Partial<ImapFlowOptions> = {}): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false, ...extra });
}
