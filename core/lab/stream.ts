// One live stream (a browser's EventSource, `labnet watch`): server-sent events written on the HTTP
// connection that asked for them. It never queues more than STREAM_BUFFER_MAX octets: past that it is
// "behind" and writes nothing until the socket drains, then catches up from the history (see
// LabHub.catchUp), so a slow or stalled browser costs a bounded buffer and never slows a service.
import type { Connection } from '../connection.js';
import type { Viewer } from './wire.js';

/** Octets queued on a stream's socket before it counts as behind. */
export const STREAM_BUFFER_MAX = 256 * 1024;

export class LabStream {
  /** The newest event number this stream has been given (or judged not visible). */
  cursor = 0;
  /** Waiting for the socket to drain; the hub catches it up from the history afterwards. */
  behind = false;
  ended = false;
  readonly openedAt = Date.now();
  private endWaiters: Array<() => void> = [];
  private readonly servicesKey: string[] | null;

  constructor(
    readonly conn: Connection,
    public viewer: Viewer,
    /** Only these services (`labnet watch --service`), or all. */
    readonly services: ReadonlySet<string> | undefined,
  ) {
    this.servicesKey = services ? [...services].sort() : null;
  }

  /**
   * Equal for streams that are shown the same items, so the hub encodes a batch once per key: what a
   * stream may see depends on its viewer and its service filter only, and every visibility rule admits
   * an instructor on the role alone (instructorsOnly, visibleToAddress, SessionRecord.canSee, the
   * packet view's flows), so all instructors' streams with one filter share theirs.
   */
  get visibilityKey(): string {
    const v = this.viewer;
    return JSON.stringify(v.role === 'instructor' ? [v.role, this.servicesKey] : [v.role, v.user ?? null, v.address, this.servicesKey]);
  }

  /** Writes; false once the stream is behind (the caller stops and waits for `drained`). */
  write(data: string | Buffer): boolean {
    if (this.ended) return false;
    this.conn.write(data);
    const queued = (this.conn.socket as { writableLength?: number }).writableLength ?? 0;
    if (queued > STREAM_BUFFER_MAX) {
      this.behind = true;
      return false;
    }
    return true;
  }

  /** Calls `fn` once the socket has drained what was queued. */
  whenDrained(fn: () => void): void {
    void this.conn.drain().then(() => {
      if (!this.ended) fn();
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.endWaiters) w();
    this.endWaiters = [];
  }

  /** Resolves when the stream ends (client gone, server stopping, lab stopping). */
  done(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }
}
