// services.pop3 in the config file.
import { z } from 'zod';
import { serviceBaseSchema } from '../../core/config.js';
import { POP3_LIMITS } from './limits.js';

export const pop3ConfigSchema = serviceBaseSchema({ enabled: true, port: 110 }).extend({
  /**
   * Inactivity autologout in ms. RFC 1939 section 3 wants at least 10 minutes (the default); lower
   * values are accepted for demonstrations and tests, with a warning at start.
   */
  idleTimeoutMs: z.number().int().min(1000).default(POP3_LIMITS.defaultIdleTimeoutMs),
  /** -ERR replies in one session before the server hangs up. */
  maxErrors: z.number().int().min(1).max(1000).default(POP3_LIMITS.defaultMaxErrors),
});

export type Pop3Config = z.infer<typeof pop3ConfigSchema>;
