// The TLS key-log lines (SSLKEYLOGFILE format: "LABEL <client random hex> <secret hex>") of the lab's
// recent TLS connections, by client random. A pcapng export looks up the randoms of the ClientHellos it
// contains and embeds their lines as a Decryption Secrets Block. Bounded: the oldest handshakes go
// first, each keeps at most a handful of lines, and a line that is not a key-log line is ignored.
import { BoundedMap } from './bounded-map.js';

/** TLS 1.2 has one line per connection, TLS 1.3 five (and a few more with key updates). */
const MAX_LINES_PER_HANDSHAKE = 12;
const MAX_LINE = 512;
const LINE = /^([A-Z0-9_]{1,64}) ([0-9a-f]{64}) ([0-9a-f]{2,256})$/i;

export class KeyLogBook {
  private readonly byRandom: BoundedMap<string, string[]>;
  /** Lines taken and lines ignored (malformed or over a cap). */
  added = 0;
  ignored = 0;

  constructor(readonly capacity = 4096) {
    this.byRandom = new BoundedMap(capacity);
  }

  /** Takes one line as the TLS engine's `keylog` event gives it (with or without its newline). */
  add(line: Buffer | string): void {
    const text = (typeof line === 'string' ? line : line.toString('latin1')).trim();
    const m = text.length <= MAX_LINE ? LINE.exec(text) : null;
    if (!m) {
      this.ignored++;
      return;
    }
    const random = m[2].toLowerCase();
    let lines = this.byRandom.get(random);
    if (!lines) {
      lines = [];
      this.byRandom.set(random, lines);
    }
    if (lines.length >= MAX_LINES_PER_HANDSHAKE || lines.includes(text)) {
      this.ignored++;
      return;
    }
    lines.push(text);
    this.added++;
  }

  /** The lines for these client randoms (hex), in the order the randoms are given. */
  linesFor(randoms: Iterable<string>): string[] {
    const out: string[] = [];
    for (const r of randoms) out.push(...(this.byRandom.get(r.toLowerCase()) ?? []));
    return out;
  }

  get size(): number {
    return this.byRandom.size;
  }
}
