// Fault injection for test suites, in one place for SMTP, POP3 and IMAP: the line sessions ask their
// interceptor (core/line-session/interceptor.ts) at the greeting, before each command and at the end
// of an SMTP message; this class answers from its rules. Deterministic: a rule counts the steps it
// matches (`after`, `times`) and draws from its own seeded generator (`probability`, `seed`), so one
// test run plays the same way each time. Every fault it applies is published as a `notice` event on
// the session (detail.fault), so the live lab's transcript and `labnet watch` show it.
//
// Bounded: at most `faults.maxRules` rules, delays at most `faults.maxDelayMs`, reply lines counted
// and cut (rules.ts). With no rules the interceptor returns at its first line.
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type { LabnetConfig } from '../config.js';
import { LabnetError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Interception, Interceptor, SessionStep } from '../line-session/interceptor.js';
import { TOKENS } from '../tokens.js';
import { FAULT_LIMITS, faultRuleSchema, type FaultRule, type FaultRuleInput, type FaultsConfig } from './rules.js';

/** What the injector reads of a session (every LineSession has these; `user` once logged in). */
interface SessionLike {
  readonly service: string;
  readonly id: string;
  readonly conn?: { readonly peer?: { readonly address: string } };
  readonly user?: string;
}

/** SMTP: the envelope of the transaction under way, from the MAIL and RCPT lines. */
interface Envelope {
  sender?: string;
  recipients: string[];
}

interface ActiveRule {
  rule: FaultRule;
  /** Compiled matchers (undefined: any). */
  user?: RegExp;
  sender?: RegExp;
  recipient?: RegExp;
  client?: RegExp;
  /** Generator state (mulberry32). */
  state: number;
}

/** `*` is any run of characters; everything else literal; case-insensitive. */
function compile(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** mulberry32: a small seeded generator; returns [value in [0,1), next state]. */
function draw(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next];
}

/** The address in `MAIL FROM:<a@b> ...` or `RCPT TO:<a@b> ...`. */
function pathOf(line: string): string {
  const colon = line.indexOf(':');
  const rest = colon < 0 ? '' : line.slice(colon + 1).trim();
  const m = /^<([^>]{0,512})>/.exec(rest);
  return (m ? m[1] : (rest.split(' ')[0] ?? '')).slice(0, 512);
}

/** The login name of IMAP LOGIN or POP3 USER, before the session knows it. */
function loginName(step: SessionStep): string | undefined {
  if (step.kind !== 'command' || (step.name !== 'LOGIN' && step.name !== 'USER')) return undefined;
  const m = /(?:^|\s)(?:LOGIN|USER)\s+"?([^\s"]{1,256})/i.exec(step.line);
  return m?.[1];
}

@injectable()
export class FaultInjector {
  private readonly rules: ActiveRule[] = [];
  private readonly envelopes = new WeakMap<object, Envelope>();
  private nextId = 1;
  private readonly limits: Pick<FaultsConfig, 'maxRules' | 'maxDelayMs'>;

  constructor(
    @inject(TOKENS.Config) config: LabnetConfig,
    @inject(TOKENS.Events) private readonly events: EventBus,
  ) {
    this.limits = { maxRules: config.faults.maxRules, maxDelayMs: config.faults.maxDelayMs };
    for (const r of config.faults.rules) this.add(r);
  }

  /** What the line sessions call (bound once; reads the current rules at each step). */
  readonly interceptor: Interceptor = (session, step) => this.check(session as SessionLike, step);

  /** Adds a rule; resolves its id. Codes FAULT_INVALID, FAULT_LIMIT, FAULT_EXISTS. */
  add(input: FaultRuleInput): FaultRule {
    const parsed = faultRuleSchema.safeParse(input);
    if (!parsed.success) {
      const why = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
        .join('; ');
      throw new LabnetError('FAULT_INVALID', `the fault rule does not check: ${why}`);
    }
    const r = parsed.data;
    if (r.delayMs !== undefined && r.delayMs > this.limits.maxDelayMs)
      throw new LabnetError('FAULT_INVALID', `delayMs ${r.delayMs} is over faults.maxDelayMs (${this.limits.maxDelayMs})`);
    if (this.rules.length >= this.limits.maxRules)
      throw new LabnetError('FAULT_LIMIT', `there are already ${this.rules.length} fault rules (faults.maxRules); remove some first`);
    let id = r.id;
    if (id !== undefined && this.rules.some((a) => a.rule.id === id)) throw new LabnetError('FAULT_EXISTS', `a fault rule "${id}" exists already`);
    while (id === undefined || this.rules.some((a) => a.rule.id === id)) id = `f${this.nextId++}`;
    const rule: FaultRule = { ...r, id, ...(r.at !== undefined ? { at: r.at.toUpperCase() } : {}), matched: 0, applied: 0 };
    this.rules.push({
      rule,
      user: compile(r.user),
      sender: compile(r.sender),
      recipient: compile(r.recipient),
      client: compile(r.client),
      state: r.seed >>> 0,
    });
    this.events.publish({ type: 'notice', service: 'faults', level: 'info', message: `fault rule ${id} added: ${describe(rule)}`, detail: { fault: id } });
    return { ...rule };
  }

  /** The rules in the order they are checked (the first that acts wins), with their counters. */
  list(): FaultRule[] {
    return this.rules.map((a) => ({ ...a.rule }));
  }

  get(id: string): FaultRule | undefined {
    const a = this.rules.find((x) => x.rule.id === id);
    return a ? { ...a.rule } : undefined;
  }

  /** Removes one rule; false when there was none. */
  remove(id: string): boolean {
    const i = this.rules.findIndex((a) => a.rule.id === id);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    this.events.publish({ type: 'notice', service: 'faults', level: 'info', message: `fault rule ${id} removed`, detail: { fault: id } });
    return true;
  }

  /** Removes every rule; resolves with how many there were. */
  clear(): number {
    const n = this.rules.length;
    this.rules.length = 0;
    if (n > 0) this.events.publish({ type: 'notice', service: 'faults', level: 'info', message: `${n} fault rule(s) removed` });
    return n;
  }

  private check(session: SessionLike, step: SessionStep): Interception | undefined {
    const envelope = session.service === 'smtp' ? this.track(session, step) : undefined;
    if (this.rules.length === 0) return undefined;
    const at = step.kind === 'greeting' ? 'GREETING' : step.kind === 'message' ? 'END-OF-DATA' : step.name;
    const user = session.user ?? loginName(step);
    const client = session.conn?.peer?.address;
    for (const a of this.rules) {
      const r = a.rule;
      if (r.service !== undefined && r.service !== session.service) continue;
      if (r.at !== undefined && r.at !== at) continue;
      if (a.user && !(user !== undefined && (a.user.test(user) || a.user.test(user.split('@')[0] ?? '')))) continue;
      if (a.client && !(client !== undefined && a.client.test(client.replace(/^::ffff:/, '')))) continue;
      if (a.sender && !(envelope?.sender !== undefined && a.sender.test(envelope.sender))) continue;
      if (a.recipient) {
        const rcpts = step.kind === 'command' && step.name === 'RCPT' ? [pathOf(step.line)] : (envelope?.recipients ?? []);
        if (!rcpts.some((x) => a.recipient!.test(x))) continue;
      }
      r.matched++;
      if (r.matched <= r.after) continue;
      if (r.times !== undefined && r.applied >= r.times) continue;
      if (r.probability < 1) {
        const [value, next] = draw(a.state);
        a.state = next;
        if (value >= r.probability) continue;
      }
      r.applied++;
      return this.apply(session, step, at, r);
    }
    return undefined;
  }

  private apply(session: SessionLike, step: SessionStep, at: string, r: FaultRule): Interception {
    const out: Interception = {};
    if (r.delayMs !== undefined) out.delayMs = Math.min(r.delayMs, this.limits.maxDelayMs);
    if (r.reply !== undefined) out.reply = imapTagged(typeof r.reply === 'string' ? [r.reply] : r.reply, step);
    if (r.close === true) out.close = true;
    if (r.closeAfterBytes !== undefined) out.closeAfterBytes = r.closeAfterBytes;
    // A refused message ends its transaction: forget the envelope (the next MAIL starts a new one anyway).
    if (step.kind === 'message' && (out.reply !== undefined || out.close === true)) this.envelopes.delete(session);
    if (this.events.active)
      this.events.publish({
        type: 'notice',
        service: session.service,
        session: session.id,
        level: 'warn',
        message: `fault injected by rule ${r.id} at ${at}: ${describe(r)}`,
        detail: { fault: r.id, at, applied: r.applied, ...out },
      });
    return out;
  }

  /** Follows the SMTP envelope: MAIL starts it, RCPT adds, RSET/HELO/EHLO and a delivered message end it. */
  private track(session: SessionLike, step: SessionStep): Envelope | undefined {
    let env = this.envelopes.get(session);
    if (step.kind !== 'command') return env;
    switch (step.name) {
      case 'MAIL':
        env = { sender: pathOf(step.line), recipients: [] };
        this.envelopes.set(session, env);
        break;
      case 'RCPT':
        if (env && env.recipients.length < FAULT_LIMITS.maxRecipients) env.recipients.push(pathOf(step.line));
        break;
      case 'RSET':
      case 'HELO':
      case 'EHLO':
        this.envelopes.delete(session);
        env = undefined;
        break;
    }
    return env;
  }
}

/** IMAP: a tagged answer needs the command's tag; `{tag}` places it, else it goes before the last line. */
function imapTagged(lines: readonly string[], step: SessionStep): string[] {
  const tag = step.kind === 'command' ? step.tag : undefined;
  if (tag === undefined) return [...lines];
  if (lines.some((l) => l.includes('{tag}'))) return lines.map((l) => l.replaceAll('{tag}', tag));
  const out = [...lines];
  const last = out.length - 1;
  if (!out[last].startsWith('* ') && !out[last].startsWith('+')) out[last] = `${tag} ${out[last]}`;
  return out;
}

/** One line for events: what the rule does. */
export function describe(r: Pick<FaultRule, 'reply' | 'delayMs' | 'close' | 'closeAfterBytes' | 'at' | 'service'>): string {
  const parts: string[] = [];
  if (r.delayMs !== undefined) parts.push(`delay ${r.delayMs} ms`);
  if (r.reply !== undefined) parts.push(`reply "${(typeof r.reply === 'string' ? r.reply : r.reply.join(' / ')).slice(0, 120)}"`);
  if (r.close === true) parts.push('close the connection');
  if (r.closeAfterBytes !== undefined) parts.push(`drop the connection after ${r.closeAfterBytes} octets`);
  return parts.join(', ');
}
