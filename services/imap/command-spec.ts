// The shape of one IMAP command module (one file per command or family under commands/). The session
// base checks the allowed states and the argument count for every command before its handler runs.
import type { CommandSpec } from '../../core/line-session/index.js';
import type { Token } from './command-parser.js';
import type { ImapSession } from './imap-session.js';

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export const ANY: readonly ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
export const AUTHED: readonly ImapState[] = ['authenticated', 'selected'];
export const SELECTED: readonly ImapState[] = ['selected'];
export const NOT_AUTHED: readonly ImapState[] = ['not-authenticated'];

export interface ImapCommandContext {
  tag: string;
  name: string;
  args: Token[];
}

/**
 * Handles the command; returns the tagged completion text ("OK ...", "NO ...") or throws ImapError.
 * '' means the command answered itself (LOGOUT).
 */
export type ImapHandler = (session: ImapSession, cmd: ImapCommandContext) => Promise<string> | string;

export interface ImapCommand extends CommandSpec<ImapState, ImapHandler> {
  minArgs: number;
  maxArgs: number;
  /**
   * May this command be followed by an EXPUNGE report? False for FETCH, STORE and SEARCH (RFC 3501
   * section 7.4.1); UID variants may.
   */
  expungeAfter: boolean;
}
