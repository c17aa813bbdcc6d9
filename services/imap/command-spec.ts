// The shape of one IMAP command module (one file per command or family under commands/), and the
// generic checks run for every command before its handler: allowed states and argument count.
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

export interface ImapCommand {
  /** Upper-case name; 'UID FETCH' for UID variants. */
  name: string;
  states: readonly ImapState[];
  minArgs: number;
  maxArgs: number;
  /** Text shown in events and logs, with secrets removed (LOGIN, AUTHENTICATE). */
  redact?: (firstLine: string) => string;
  /**
   * May this command be followed by an EXPUNGE report? False for FETCH, STORE and SEARCH (RFC 3501
   * section 7.4.1); UID variants may.
   */
  expungeAfter: boolean;
  /** Handles the command; returns the tagged completion text ("OK ...", "NO ...") or throws ImapError. */
  handler: (session: ImapSession, cmd: ImapCommandContext) => Promise<string> | string;
}
