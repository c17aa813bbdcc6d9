// LOGIN (RFC 3501 section 6.2.3) and AUTHENTICATE PLAIN (section 6.2.2, RFC 4616) with an initial
// response (SASL-IR, RFC 4959). Secrets never reach events: both commands redact their arguments.
// Before TLS, with tls.requireTlsForAuth, the session base answers NO [PRIVACYREQUIRED] instead
// (`authentication`), and CAPABILITY says LOGINDISABLED.
import { decodeSaslPlain } from '../../../core/auth.js';
import { REDACTED, redactAfterWords, redactSasl, shownWord } from '../../../core/redact.js';
import { NOT_AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { astring, atom } from './args.js';

async function finishLogin(s: ImapSession, login: string, password: string, mechanism: string): Promise<string> {
  // core/throttle.ts delays a wrong password's answer per address and account, and refuses an address
  // that keeps guessing for now: RFC 5530 UNAVAILABLE, a temporary failure.
  const result = await s.shared.accounts.verifyFrom(s.conn.peer.address, login, password);
  if ('throttled' in result) throw no('Too many failed logins, try again later', 'UNAVAILABLE');
  s.authEvent(result.user ?? login, result.ok, mechanism);
  if (!result.ok || !result.user) throw no('Invalid credentials', 'AUTHENTICATIONFAILED');
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
  // The user name only when a password follows it (`a LOGIN secret` alone shows no word of it).
  redact: (line) => redactAfterWords(line, line.split(' ').length > 3 ? 3 : 2),
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
  redact: (line) => redactSasl(line, 2),
  async handler(s, cmd) {
    const mechWord = atom(cmd.args[0], 'SASL mechanism');
    const mech = mechWord.toUpperCase();
    if (mech !== 'PLAIN') throw no(`Unsupported mechanism ${shownWord(mechWord, 'mechanism')}`, 'CANNOT');
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
