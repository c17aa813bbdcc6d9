export type { SmtpCommand } from '../smtp-session.js';
import type { SmtpState } from '../smtp-session.js';

export const ANY_STATE: readonly SmtpState[] = ['init', 'ready', 'mail', 'rcpt'];
