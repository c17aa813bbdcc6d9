// IDLE (RFC 2177): changes to the selected mailbox are pushed as they happen until the client sends
// DONE. The autologout timer restarts with each IDLE (the idle timeout counts from the last activity).
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';

export const idle: ImapCommand = {
  name: 'IDLE',
  states: AUTHED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  async handler(s) {
    // The continuation reaches the client before the session waits for DONE (expectNext sends it).
    s.send('+ idling');
    const view = s.selected;
    s.idling = true;
    const push = (): void => {
      // NOTIFY (RFC 5465) pushes the selected mailbox's changes with its own (imap-session.ts).
      if (s.notify) return s.notifyWake();
      // Batch what arrives within a tick into one write.
      setImmediate(() => {
        if (s.idling && !s.conn.closed) s.reportChanges(true);
      });
    };
    if (view) {
      view.onChange = push;
      if (view.hasPending) push();
    }
    if (s.notify?.pending) s.notifyWake();
    s.conn.setIdleTimeout(s.shared.config.autologoutMs);
    let line: Buffer | null;
    try {
      line = await s.expectNext(1024, true);
    } catch {
      line = Buffer.from('');
    } finally {
      s.idling = false;
      if (view) view.onChange = undefined;
    }
    if (line === null) {
      s.logout();
      return 'OK';
    }
    const text = line.toString('latin1');
    s.commandEvent(text);
    if (text.toUpperCase() !== 'DONE') throw bad('Expected DONE');
    return 'OK IDLE terminated';
  },
};
