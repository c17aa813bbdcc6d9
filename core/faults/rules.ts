// Fault rules for test suites (what Mailpit's "chaos" and MailHog's Jim offer, made deterministic):
// which step of which session a rule matches, what it does there, and how often. One schema checks
// rules from the config (`faults.rules`), from `lab.faults.add()` and from POST /api/v1/faults.
import { z } from 'zod';

/** Hard bounds, whatever the config says. */
export const FAULT_LIMITS = {
  /** Rules at most (config `faults.maxRules` may lower it). */
  maxRules: 1000,
  /** Longest delay a rule may ask for (config `faults.maxDelayMs` may lower it). */
  maxDelayMs: 10 * 60 * 1000,
  /** Reply lines per rule and characters per line. */
  maxReplyLines: 20,
  maxReplyLine: 512,
  /** Characters of a matcher (user, sender, recipient, client, command). */
  maxPattern: 256,
  /** Recipients remembered per SMTP transaction for `recipient` rules at the end of DATA. */
  maxRecipients: 1000,
} as const;

/** A pattern: exact (case-insensitive), `*` matches any run of characters. */
const pattern = z.string().min(1).max(FAULT_LIMITS.maxPattern);

const replyLine = z
  .string()
  .min(1)
  .max(FAULT_LIMITS.maxReplyLine)
  .refine((s) => !/[\r\n\0]/.test(s), 'a reply line without CR, LF or NUL');

export const faultRuleSchema = z
  .strictObject({
    /** Chosen id (letters, digits, . _ -); default f1, f2... */
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, underscore or hyphen (at most 64)')
      .optional(),
    /** smtp, pop3 or imap (default: any). */
    service: z.enum(['smtp', 'pop3', 'imap']).optional(),
    /**
     * Where: 'greeting', 'end-of-data' (SMTP, the message was read and is about to be delivered) or
     * a command name as the protocol's table knows it (MAIL, RCPT, DATA, AUTH, RETR, LOGIN, FETCH,
     * 'UID FETCH'...). Default: every step.
     */
    at: z
      .string()
      .min(1)
      .max(40)
      .regex(/^[A-Za-z][A-Za-z0-9-]*( [A-Za-z][A-Za-z0-9-]*)?$/, "'greeting', 'end-of-data' or a command name")
      .optional(),
    /** The logged-in user (name or address). */
    user: pattern.optional(),
    /** SMTP: the MAIL FROM address of the transaction. */
    sender: pattern.optional(),
    /** SMTP: at RCPT the address given; at DATA and end-of-data any recipient of the transaction. */
    recipient: pattern.optional(),
    /** The client's IP address. */
    client: pattern.optional(),
    /** Answer this instead of running the step (IMAP: the command's tag is put in front; `{tag}` places it). */
    reply: z.union([replyLine, z.array(replyLine).min(1).max(FAULT_LIMITS.maxReplyLines)]).optional(),
    /** Wait this long first (ms). */
    delayMs: z.number().int().min(0).max(FAULT_LIMITS.maxDelayMs).optional(),
    /** Close the connection (after the reply, if any) instead of running the step. */
    close: z.boolean().optional(),
    /** Run the step, but drop the connection once this many more octets were sent. */
    closeAfterBytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .optional(),
    /** Let this many matching steps pass before the rule acts ("fail after N"). */
    after: z.number().int().min(0).max(1_000_000_000).default(0),
    /** Act at most this many times (default: every time). */
    times: z.number().int().min(1).max(1_000_000_000).optional(),
    /** Act on this fraction of the matching steps, drawn from a generator seeded by `seed`. */
    probability: z.number().min(0).max(1).default(1),
    /** Seed of the rule's generator (default 1): the same seed gives the same choices in the same order. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1),
  })
  .refine((r) => r.reply !== undefined || r.delayMs !== undefined || r.close === true || r.closeAfterBytes !== undefined, {
    message: 'a rule needs an action: reply, delayMs, close or closeAfterBytes',
  })
  .refine((r) => !(r.closeAfterBytes !== undefined && (r.reply !== undefined || r.close === true)), {
    message: 'closeAfterBytes lets the step run: it does not go with reply or close',
  });

/** A rule as given (config, API, REST). */
export type FaultRuleInput = z.input<typeof faultRuleSchema>;
type ParsedRule = z.output<typeof faultRuleSchema>;

/** A rule as listed: the input with its id and what it did so far. */
export type FaultRule = ParsedRule & {
  id: string;
  /** Matching steps seen. */
  matched: number;
  /** Times it acted. */
  applied: number;
};

/** `faults`: rules loaded at start, and the bounds every rule is held to. */
export const faultsConfigSchema = z.strictObject({
  /** Rules active from the start (each as `lab.faults.add()` takes it). */
  rules: z.array(faultRuleSchema).max(FAULT_LIMITS.maxRules).default([]),
  /** Rules at most (add past it: code FAULT_LIMIT). */
  maxRules: z.number().int().min(1).max(FAULT_LIMITS.maxRules).default(100),
  /** Longest delay a rule may ask for. */
  maxDelayMs: z.number().int().min(0).max(FAULT_LIMITS.maxDelayMs).default(60_000),
});

export type FaultsConfig = z.infer<typeof faultsConfigSchema>;
