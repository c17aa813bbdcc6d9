// Queue ids: the "queued as" of the 250 reply and the id in the Received field (trace.ts), 12 hex
// digits from the CSPRNG. They are drawn 256 at a time: one randomBytes call per 256 messages
// instead of one per message, a synchronous call on the event loop at the end of every DATA (issue 17).
import { randomBytes } from 'node:crypto';

const ID_BYTES = 6;
const IDS_PER_DRAW = 256;

let pool = Buffer.alloc(0);
let at = 0;

/** A fresh queue id (upper-case hex, 12 digits). */
export function newQueueId(): string {
  if (at + ID_BYTES > pool.length) {
    pool = randomBytes(ID_BYTES * IDS_PER_DRAW);
    at = 0;
  }
  const id = pool.toString('hex', at, at + ID_BYTES).toUpperCase();
  at += ID_BYTES;
  return id;
}
