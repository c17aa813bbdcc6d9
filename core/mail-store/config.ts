// The `mailStore` section of the config (core/config.ts): per-user quotas. Every folder of a user
// counts toward one quota (the user's quota root, RFC 9208 section 3), each copy of a message counts.
import { z } from 'zod';

/** Defaults: a lab mailbox holds plenty of coursework, and one student cannot fill the disk or the heap. */
export const DEFAULT_QUOTA = {
  /** 512 MiB of messages per user. */
  maxBytes: 512 * 1024 * 1024,
  /** 20,000 messages per user (the index keeps at most about 2 KB of each in memory). */
  maxMessages: 20_000,
} as const;

export const mailStoreConfigSchema = z.strictObject({
  quota: z
    .strictObject({
      /** Octets of all messages of one user; 0: no limit. Deliveries, APPEND and COPY past it are refused. */
      maxBytes: z.number().int().min(0).default(DEFAULT_QUOTA.maxBytes),
      /** Messages of one user; 0: no limit. */
      maxMessages: z.number().int().min(0).default(DEFAULT_QUOTA.maxMessages),
    })
    .default(() => ({ ...DEFAULT_QUOTA })),
  /**
   * Who writes a delivery's files (core/mail-store/delivery-writer.ts): `worker`, a worker thread, so
   * the event loop makes no file system call for it; `inline`, the event loop itself (no extra thread,
   * about 10 MB less memory). Durability is the same: fdatasync, rename, directory fsync before the 250.
   */
  deliveryWriter: z.enum(['worker', 'inline']).default('worker'),
});

export type MailStoreConfig = z.infer<typeof mailStoreConfigSchema>;
