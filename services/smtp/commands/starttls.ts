// STARTTLS (RFC 3207). The TLS service supplies the hook (SmtpContext.starttls); without it the
// command is refused with 454 4.7.0 as section 4 allows. After the upgrade the session forgets the
// greeting and authentication (section 4.2) and pipelined plaintext is dropped by the core.
import type { SmtpCommand } from './types.js';

export const starttls: SmtpCommand = {
  name: 'STARTTLS',
  states: ['ready'],
  maxArgs: 0,
  async handler(s) {
    const hook = s.ctx.starttls;
    if (!hook || !hook.available(s)) {
      s.reply(454, 'TLS not available', '4.7.0');
      return;
    }
    s.reply(220, 'Ready to start TLS', '2.0.0');
    s.flush();
    await hook.upgrade(s);
    s.state = 'init';
    s.helo = '';
    s.esmtp = false;
    s.user = undefined;
    s.tx = undefined;
  },
};
