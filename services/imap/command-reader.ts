// Reads one complete IMAP command through the session's input methods (the line-session base's
// expect* readers). A line ending in "{n}" announces a synchronising literal: the server answers "+"
// (RFC 3501 section 7.5) and reads n octets, then the command continues on the next line. "{n+}"
// (LITERAL+, RFC 7888) needs no "+". A literal that is too big is refused before the client sends it
// (synchronising) or read and dropped (non-synchronising), so the session goes on either way.
import { FramerError } from '../../core/line-framer.js';
import { IMAP_LIMITS } from './limits.js';
import type { ReadLiteral } from './transcript-payload.js';

export type ReadResult =
  /** `read`: each literal with the line that announced it (the buffers as read, which `raw` joins). */
  | { kind: 'command'; raw: Buffer; literals: number; read?: ReadLiteral[] }
  | { kind: 'eof' }
  /** The command was refused while it was being read; send `response` and go on. */
  | { kind: 'refused'; tag: string | undefined; response: string; fatal?: boolean };

export interface CommandInput {
  /** Largest literal accepted for a command whose first line is `firstLine`. */
  literalLimit(firstLine: string): number;
  /** Sends the "+" continuation request. */
  continuation(): void;
  /** The first line of a command (the session counts as idle while it waits). */
  firstLine(): Promise<Buffer | null>;
  /** A later line of the same command, at most `max` octets. */
  nextLine(max: number): Promise<Buffer | null>;
  /** Exactly `n` octets. */
  octets(n: number): Promise<Buffer | null>;
  /** Between 1 and `max` octets. */
  chunk(max: number): Promise<Buffer | null>;
}

const LITERAL_AT_END = /\{(\d{1,10})(\+?)\}$/;

function tagOf(line: string): string | undefined {
  const m = /^([^\s(){%*"\\+]+) /.exec(line);
  return m?.[1];
}

export async function readCommand(input: CommandInput): Promise<ReadResult> {
  const parts: Buffer[] = [];
  let total = 0;
  let literals = 0;
  let firstLine = '';
  let read: ReadLiteral[] | undefined;
  for (;;) {
    let line: Buffer | null;
    try {
      line = parts.length === 0 ? await input.firstLine() : await input.nextLine(IMAP_LIMITS.maxLineLength);
    } catch (err) {
      if (err instanceof FramerError) {
        return { kind: 'refused', tag: tagOf(firstLine), response: 'BAD [TOOBIG] Command line too long' };
      }
      throw err;
    }
    if (line === null) return { kind: 'eof' };
    if (parts.length === 0) firstLine = line.toString('latin1', 0, Math.min(line.length, 200));
    parts.push(line);
    total += line.length;
    // Most lines announce no literal: only a line ending in "}" needs the pattern.
    const m = line.length > 0 && line[line.length - 1] === 0x7d ? LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - 14))) : null;
    if (!m) return { kind: 'command', raw: parts.length === 1 ? line : Buffer.concat(parts), literals, ...(read ? { read } : {}) };
    const size = Number(m[1]);
    const nonSync = m[2] === '+';
    const limit = input.literalLimit(firstLine);
    const tag = tagOf(firstLine);
    // A literal of exactly `limit` octets is allowed (RFC 7889 section 2: APPENDLIMIT is the largest
    // size accepted); the command's lines around it count against maxCommandOctets, not the limit.
    if (++literals > IMAP_LIMITS.maxLiterals || size > limit || total + size > limit + IMAP_LIMITS.maxCommandOctets) {
      const tooBig = size > limit;
      const response = tooBig ? `NO [TOOBIG] Literal of ${size} octets exceeds the limit of ${limit}` : 'BAD [TOOBIG] Command too large';
      if (!nonSync) return { kind: 'refused', tag, response };
      // RFC 7888 section 4: the client sends a non-synchronising literal anyway; read and drop it
      // (bounded), then drop the rest of the command.
      if (size > 64 * 1024 * 1024) return { kind: 'refused', tag, response: `BAD ${response.slice(3)}`, fatal: true };
      let left = size;
      while (left > 0) {
        const chunk = await input.chunk(Math.min(left, 65536));
        if (chunk === null) return { kind: 'eof' };
        left -= chunk.length;
      }
      await discardRestOfCommand(input);
      return { kind: 'refused', tag, response };
    }
    parts.push(Buffer.from('\r\n'));
    if (!nonSync) input.continuation();
    const data = size === 0 ? Buffer.alloc(0) : await input.octets(size);
    if (data === null) return { kind: 'eof' };
    (read ??= []).push({ line, data });
    parts.push(data);
    total += size;
  }
}

/** After a refused non-synchronising literal: the command's remaining lines (with literals) go too. */
async function discardRestOfCommand(input: CommandInput): Promise<void> {
  for (let guard = 0; guard < IMAP_LIMITS.maxLiterals; guard++) {
    let line: Buffer | null;
    try {
      line = await input.nextLine(IMAP_LIMITS.maxLineLength);
    } catch {
      return;
    }
    if (line === null) return;
    const m = LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - 14)));
    if (!m || m[2] !== '+') return;
    let left = Number(m[1]);
    if (left > IMAP_LIMITS.maxCommandOctets) return;
    while (left > 0) {
      const chunk = await input.chunk(Math.min(left, 65536));
      if (chunk === null) return;
      left -= chunk.length;
    }
  }
}
