// The smtp section of the config (defaults also in config/labnet.yaml).
import { z } from 'zod';
import { portSchema, serviceBaseSchema } from '../../core/config.js';
import { DEFAULT_TIMEOUTS } from './limits.js';

export const smtpConfigSchema = serviceBaseSchema({ enabled: true, port: 25 }).extend({
  /** Message submission (RFC 6409) on this port: AUTH required before MAIL. */
  submission: z.boolean().default(true),
  submissionPort: portSchema.default(587),
  /** Submission over implicit TLS (RFC 8314 section 3.3) on smtpsPort; AUTH required as on 587. */
  smtps: z.boolean().default(true),
  smtpsPort: portSchema.default(465),
  /** SIZE (RFC 1870): largest message accepted, in octets. */
  maxMessageSize: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(25 * 1024 * 1024),
  /** Mailbox that captures mail for foreign domains sent by authenticated users (nothing leaves the lab). */
  catchAllMailbox: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'a lower-case mailbox name such as catchall')
    .default('catchall'),
  /** GreenMail-style: mail for an unknown local user creates that user's mailbox instead of 550 5.1.1. */
  autoCreateMailboxes: z.boolean().default(false),
  /** Waiting for the next command (RFC 5321 section 4.5.3.2.7: 5 minutes). */
  commandTimeoutMs: z.number().int().min(100).default(DEFAULT_TIMEOUTS.commandMs),
  /** Waiting for more message data during DATA or BDAT (section 4.5.3.2.5: 3 minutes). */
  dataTimeoutMs: z.number().int().min(100).default(DEFAULT_TIMEOUTS.dataBlockMs),
});

export type SmtpConfig = z.infer<typeof smtpConfigSchema>;
