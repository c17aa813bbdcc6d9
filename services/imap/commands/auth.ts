// LOGIN (RFC 3501 section 6.2.3) and AUTHENTICATE PLAIN (section 6.2.2, RFC 4616) with an initial
// response (SASL-IR, RFC 4959). Secrets never reach events: both commands redact their arguments.
// Before TLS, with tls.requireTlsForAuth, the session base answers NO [PRIVACYREQUIRED] instead
// (`authentication`), and CAPABILITY says LOGINDISABLED.
import { decodeSaslPlain } from '../../../core/auth.js';
import { REDACTED } from '../../../core/redact.js';
import { NOT_AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { astring, atom } from './args.js';

async function finishLogin(s: ImapSession, login: string, password: string, mechanism: string): Promise<string> {
  const result = await s.shared.accounts.verifyAsync(login, password);
  s.authEvent(result.user ?? login, result.ok, mechanism);
  if (!result.ok || !result.user) {
    // RFC 5530: AUTHENTICATIONFAILED. A short pause slows guessing without holding other sessions.
    await new Promise((r) => setTimeout(r, 300));
    throw no('Invalid credentials', 'AUTHENTICATIONFAILED');
  }
  await s.authenticated(result.user);
  return `OK [CAPABILITY ${s.capabilities()}] Logged in`;
}

export const login: ImapCommand = {
  name: 'LOGIN',
  states: NOT_AUTHED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  authentication: true,
  redact: (line) => line.split(' ').slice(0, 3).concat(REDACTED).join(' '),
  handler(s, cmd) {
    return finishLogin(s, astring(cmd.args[0], 'user name'), astring(cmd.args[1], 'password'), 'LOGIN');
  },
};

export const authenticate: ImapCommand = {
  name: 'AUTHENTICATE',
  states: NOT_AUTHED,
  minArgs: 1,
  maxArgs: 2,
  expungeAfter: true,
  authentication: true,
  redact: (line) => line.split(' ').slice(0, 3).join(' ') + (line.split(' ').length > 3 ? ` ${REDACTED}` : ''),
  async handler(s, cmd) {
    const mech = atom(cmd.args[0], 'SASL mechanism').toUpperCase();
    if (mech !== 'PLAIN') throw no(`Unsupported mechanism ${mech.slice(0, 20)}`, 'CANNOT');
    let response: string;
    if (cmd.args.length === 2) {
      response = atom(cmd.args[1], 'initial response');
      // RFC 4959: "=" is an empty initial response.
      if (response === '=') response = '';
    } else {
      s.send('+ ');
      const line = await s.expectNext(8192).catch(() => null);
      s.commandEvent(REDACTED);
      if (line === null) throw bad('authentication exchange failed');
      response = line.toString('latin1');
      if (response === '*') throw bad('Authentication cancelled');
    }
    const creds = decodeSaslPlain(response);
    if (!creds) throw bad('Invalid SASL PLAIN response');
    if (!s.shared.accounts.authorizes(creds.authcid, creds.authzid)) {
      throw no('Authorization identity must be the user itself', 'AUTHORIZATIONFAILED');
    }
    return finishLogin(s, creds.authcid, creds.password, 'AUTHENTICATE PLAIN');
  },
};
