// The static POP3 command registry: one module per command, listed here. Nothing scans directories;
// a new command is one file under commands/ and one entry in this list.
import { CommandTable } from '../../../core/line-session/index.js';
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
import { stlsCommand } from './stls.js';
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
  stlsCommand,
];

/** The table sessions dispatch through (two commands with one name throw here, at start-up). */
export function pop3CommandTable(): CommandTable<Pop3State, Pop3Command> {
  return new CommandTable<Pop3State, Pop3Command>(POP3_COMMANDS);
}
