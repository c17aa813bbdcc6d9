// The static POP3 command registry: one module per command, listed here. Nothing scans directories.
// STLS (RFC 2595) is not here: the TLS layer passes it as an extra command to `pop3CommandTable`
// and adds the STLS capability (see capabilities.ts).
import { CommandTable } from '../../../core/line-session.js';
import type { Pop3Session } from '../session.js';
import type { Pop3State } from '../state.js';
import { apopCommand } from './apop.js';
import { authCommand } from './auth.js';
import { capaCommand } from './capa.js';
import type { Pop3Command } from './command.js';
import { deleCommand } from './dele.js';
import { listCommand } from './list.js';
import { noopCommand } from './noop.js';
import { passCommand } from './pass.js';
import { quitCommand } from './quit.js';
import { retrCommand } from './retr.js';
import { rsetCommand } from './rset.js';
import { statCommand } from './stat.js';
import { topCommand } from './top.js';
import { uidlCommand } from './uidl.js';
import { userCommand } from './user.js';

export const POP3_COMMANDS: readonly Pop3Command[] = [
  userCommand,
  passCommand,
  apopCommand,
  authCommand,
  capaCommand,
  quitCommand,
  statCommand,
  listCommand,
  uidlCommand,
  retrCommand,
  topCommand,
  deleCommand,
  rsetCommand,
  noopCommand,
];

export function pop3CommandTable(extra: readonly Pop3Command[] = []): CommandTable<Pop3State, Pop3Session> {
  return new CommandTable<Pop3State, Pop3Session>([...POP3_COMMANDS, ...extra]);
}
