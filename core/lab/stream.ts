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
  /**
   * Equal for streams that are shown the same items, so the hub encodes a batch once per key: what a
   * stream may see depends on its viewer and its service filter only, and every visibility rule judges
   * an instructor on the role alone (instructorsOnly, visibleToAddress, SessionRecord.canSee, the
   * packet view's flows admit one; a student's `forget` does not), so all instructors' streams with one
   * filter share theirs. Made once: the hub asks at every flush, for every stream.
   */
  readonly visibilityKey: string;
  /**
   * An instructor's stream without a service filter: what it is shown follows from the items alone
   * (their role rule, above), not from when they are judged, so its batch for a span of event numbers
   * is the same octets for every such stream, then or later (the hub shares catch-up batches between
   * them).
   */
  readonly followsEverything: boolean;

  constructor(
    readonly conn: Connection,
    readonly viewer: Viewer,
    /** Only these services (`labnet watch --service`), or all. */
    readonly services: ReadonlySet<string> | undefined,
  ) {
    const servicesKey = services ? [...services].sort() : null;
    const v = viewer;
    this.visibilityKey = JSON.stringify(v.role === 'instructor' ? [v.role, servicesKey] : [v.role, v.user ?? null, v.address, servicesKey]);
    this.followsEverything = v.role === 'instructor' && services === undefined;
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
