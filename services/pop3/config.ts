// services.pop3 in the config file.
import { z } from 'zod';
import { portSchema, serviceBaseSchema } from '../../core/config.js';
import { POP3_LIMITS } from './limits.js';

export const pop3ConfigSchema = serviceBaseSchema({ enabled: true, port: 110 }).extend({
  /**
   * Inactivity autologout in ms. RFC 1939 section 3 wants at least 10 minutes (the default); lower
   * values are accepted for demonstrations and tests, with a warning at start.
   */
  idleTimeoutMs: z.number().int().min(1000).default(POP3_LIMITS.defaultIdleTimeoutMs),
  /** -ERR replies in one session before the server hangs up. */
  maxErrors: z.number().int().min(1).max(1000).default(POP3_LIMITS.defaultMaxErrors),
  /** POP3 over implicit TLS (RFC 8314 section 3.3) on pop3sPort. Port 110 offers STLS (RFC 2595). */
  pop3s: z.boolean().default(true),
  pop3sPort: portSchema.default(995),
  /**
   * The maildrop lock (RFC 1939 section 4) of a shared account is bounded per address (issue 14): a
   * session from another address that wants it takes it over when the holder has sent no command for
   * this long (its session ends without UPDATE, so nothing it marked is deleted)...
   */
  lockIdleMs: z.number().int().min(1000).default(60_000),
  /** ...or has held it this long, whatever it does. Until then the newcomer gets -ERR [IN-USE]. */
  lockMaxHoldMs: z
    .number()
    .int()
    .min(1000)
    .default(5 * 60_000),
});

export type Pop3Config = z.infer<typeof pop3ConfigSchema>;
