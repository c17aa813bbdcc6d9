// A FIFO async mutex: every mutation of one folder runs through one of these, so concurrent IMAP
// sessions, POP3 and deliveries never interleave their renames, unlinks and uid-list writes.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Runs `fn` after every task queued before it; a failing task does not poison the queue. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  get busy(): boolean {
    return this.pending > 0;
  }
}
