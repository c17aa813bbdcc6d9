// The SMTP command registry: one file per command, listed here (nothing scans directories). A new
// command is one file under commands/ and one entry in this list.
import { CommandTable } from '../../../core/line-session/index.js';
import type { SmtpCommand, SmtpState } from '../smtp-session.js';
import { auth } from './auth.js';
import { bdat } from './bdat.js';
import { data } from './data.js';
import { ehlo } from './ehlo.js';
import { helo } from './helo.js';
import { help } from './help.js';
import { mail } from './mail.js';
import { noop } from './noop.js';
import { quit } from './quit.js';
import { rcpt } from './rcpt.js';
import { rset } from './rset.js';
import { starttls } from './starttls.js';
import { vrfy } from './vrfy.js';

export const SMTP_COMMANDS = new CommandTable<SmtpState, SmtpCommand>([helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, help, auth, starttls]);
