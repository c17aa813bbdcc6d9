// The shape of one POP3 command module. The handler's third argument is the raw text after the
// keyword (PASS needs it whole: a password may contain spaces).
import type { CommandSpec } from '../../../core/line-session.js';
import type { Pop3Session } from '../session.js';
import type { Pop3State } from '../state.js';

export interface Pop3Command extends CommandSpec<Pop3State, Pop3Session> {
  /** Shown in the -ERR reply when the arguments are wrong. */
  usage: string;
}
