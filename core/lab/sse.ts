// Server-sent events (HTML Living Standard, "Server-sent events", section 9.2): the frame the hub
// writes for each event, and an incremental parser for the clients that are not browsers (`labnet
// watch`, the benchmark, tests). Data is always one line of JSON (JSON.stringify escapes CR and LF),
// so a frame never needs several data lines.

/** One event frame: `event:`, `id:` when given, one `data:` line, an empty line. */
export function sseFrame(event: string, data: string, id?: string): string {
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;
}

/** A comment line: keeps proxies and idle timers from closing a quiet stream. */
export const SSE_HEARTBEAT = ': keep-alive\n\n';

export interface SseEvent {
  event: string;
  data: string;
  /** The last event id seen so far on the stream (as the browser's lastEventId). */
  lastEventId: string;
}

/** The largest event (its data lines together) a client accepts before it gives up on the stream. */
export const SSE_MAX_EVENT = 8 * 1024 * 1024;

export class SseParseError extends Error {
  override name = 'SseParseError';
}

/**
 * Incremental parser: feed text chunks, get complete events. Follows the standard's line rules (CRLF,
 * CR or LF end a line; "field: value" with one optional space; comments start with ':'), bounded by
 * SSE_MAX_EVENT.
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private dataSize = 0;
  private lastEventId = '';
  private pendingCr = false;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(chunk: string): void {
    let text = chunk;
    if (this.pendingCr) {
      // A CR ended the previous chunk: a LF right after it belongs to the same line end.
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCr = false;
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.dataSize > SSE_MAX_EVENT) throw new SseParseError(`an event larger than ${SSE_MAX_EVENT} characters`);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId });
      this.event = '';
      this.data = [];
      this.dataSize = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.dataSize += value.length + 1;
      if (this.dataSize > SSE_MAX_EVENT) throw new SseParseError(`an event larger than ${SSE_MAX_EVENT} characters`);
    } else if (field === 'id' && !value.includes('\u0000')) this.lastEventId = value;
  }
}
