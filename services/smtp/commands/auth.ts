// AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, initial response allowed. A failure is 535 5.7.8
// and the client may try again; "*" cancels (501 5.7.0). Payloads are never shown in events or logs.
// Before TLS, with tls.requireTlsForAuth, the session base answers 530 instead (`authentication`).
import { decodeSaslPlain } from '../../../core/auth.js';
import { FramerError } from '../../../core/line-framer.js';
import { redactAfterWords, redactLine } from '../../../core/redact.js';
import { LIMITS } from '../limits.js';
import { REPLY } from '../replies.js';
import type { SmtpSession } from '../smtp-session.js';
import type { SmtpCommand } from './types.js';

/** Returned by an exchange step when the exchange is over (its reply already sent). */
const STOP: unique symbol = Symbol('stop');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Step = { kind: 'value'; text: string } | { kind: 'cancel' } | { kind: 'closed' } | { kind: 'bad' };

/** Sends a 334 challenge and reads the client's response line (redacted in events). */
async function challenge(s: SmtpSession, b64: string): Promise<Step> {
  s.reply(REPLY.authChallenge(b64));
  let line: Buffer | null;
  try {
    line = await s.expectNext(LIMITS.authLine);
  } catch (err) {
    if (err instanceof FramerError) return { kind: 'bad' };
    throw err;
  }
  if (line === null) return { kind: 'closed' };
  s.commandEvent(redactLine(), 'AUTH');
  const text = line.toString('latin1').trim();
  if (text === '*') return { kind: 'cancel' };
  return { kind: 'value', text };
}

function decode(b64: string): string | undefined {
  if (b64 === '=') return '';
  if (!BASE64.test(b64)) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

export const auth: SmtpCommand = {
  name: 'AUTH',
  states: ['ready'],
  minArgs: 1,
  maxArgs: 2,
  authentication: true,
  redact: (line) => redactAfterWords(line, 2),
  async handler(s, args) {
    if (!s.esmtp) {
      s.reply(REPLY.authNeedsEhlo);
      return;
    }
    if (s.user !== undefined) {
      s.reply(REPLY.alreadyAuthenticated);
      return;
    }
    const mech = args[0].toUpperCase();
    let login: string | undefined;
    let password: string | undefined;
    const step = async (b64Prompt: string, initial: string | undefined): Promise<string | undefined | typeof STOP> => {
      let text = initial;
      if (text === undefined) {
        const r = await challenge(s, b64Prompt);
        if (r.kind === 'closed') {
          s.ending = true;
          return STOP;
        }
        if (r.kind === 'cancel') {
          s.reply(REPLY.authAborted);
          return STOP;
        }
        if (r.kind === 'bad') {
          s.reply(REPLY.authLineTooLong);
          return STOP;
        }
        text = r.text;
      }
      const decoded = decode(text);
      if (decoded === undefined) {
        s.reply(REPLY.badBase64);
        return STOP;
      }
      return decoded;
    };
    if (mech === 'PLAIN') {
      const v = await step('', args[1]);
      if (v === STOP) return;
      const parsed = v === undefined ? undefined : decodeSaslPlain(Buffer.from(v, 'utf8').toString('base64'));
      if (parsed && s.ctx.accounts.authorizes(parsed.authcid, parsed.authzid)) {
        login = parsed.authcid;
        password = parsed.password;
      }
    } else if (mech === 'LOGIN') {
      const u = await step('VXNlcm5hbWU6', args[1]); // "Username:"
      if (u === STOP) return;
      const p = await step('UGFzc3dvcmQ6', undefined); // "Password:"
      if (p === STOP) return;
      login = u;
      password = p;
    } else {
      s.reply(REPLY.unknownMechanism(mech.slice(0, 20)));
      return;
    }
    const result = login !== undefined && password !== undefined ? await s.ctx.accounts.verifyAsync(login, password) : { ok: false };
    s.authEvent((result.ok && 'user' in result && result.user) || login || '', result.ok, mech);
    if (!result.ok || !('user' in result) || !result.user) {
      s.authFailures++;
      s.ctx.stats.authFailures++;
      s.reply(REPLY.authFailed);
      if (s.authFailures >= LIMITS.authFailures) {
        s.reply(REPLY.tooManyAuthFailures(s.hostname));
        s.ending = true;
      }
      return;
    }
    s.user = result.user;
    s.reply(REPLY.authenticated);
  },
};
