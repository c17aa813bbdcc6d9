// Parsed messages kept by content: a stored message never changes (a flag change renames the file,
// a copy hard-links it under the same unique name), so one parse serves every later read of it,
// in every mailbox that holds a copy. Least recently used entries go first once the byte budget
// is spent; a parse in flight is shared by everyone asking for the same message.
import type { ParsedContent } from './parse-message.js';

export interface CachedMessage {
  raw: Buffer;
  content: ParsedContent;
}

export class ParsedCache {
  private readonly entries = new Map<string, { value: CachedMessage; cost: number }>();
  private readonly inFlight = new Map<string, Promise<CachedMessage>>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxEntryBytes: number,
  ) {}

  async get(key: string, load: () => Promise<CachedMessage>): Promise<CachedMessage> {
    const hit = this.entries.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    const value = await p;
    this.put(key, value);
    return value;
  }

  private put(key: string, value: CachedMessage): void {
    // The parse holds the text, the HTML and the decoded attachments: about the raw size again.
    const cost = value.raw.length * 2 + 1024;
    if (value.raw.length > this.maxEntryBytes || this.entries.has(key)) return;
    this.entries.set(key, { value, cost });
    this.bytes += cost;
    if (this.bytes <= this.budgetBytes) return;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(k);
      this.bytes -= e.cost;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
