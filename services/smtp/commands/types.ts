import type { CommandSpec } from '../../../core/line-session.js';
import type { SmtpSession, SmtpState } from '../smtp-session.js';

export type SmtpCommand = CommandSpec<SmtpState, SmtpSession>;
export const ANY_STATE: readonly SmtpState[] = ['init', 'ready', 'mail', 'rcpt'];
