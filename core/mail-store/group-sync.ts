// Group commit for directory fsyncs. A delivery is durable once its file is fsynced and the rename
// into new/ is on disk, which takes an fsync of new/. Many concurrent deliveries into one folder share
// that fsync: a caller waits for an fsync that *started after* its rename, so one fsync covers every
// rename made while the previous one ran (the same idea as a database's group commit). A round
// starts at the end of the loop turn (setImmediate), not at once: the deliveries whose file syncs
// finished in the same turn (the thread pool reports its completions together) then share it. On a
// fast file system (tmpfs) each fsync used to finish before the next rename came, so every delivery
// paid a directory fsync and its thread-pool round trip of its own (issue 17).
import { closeQuiet, fsyncFdAsync, openDir, yieldToLoop } from './fs-util.js';

interface DirState {
  running: boolean;
  /** Callers waiting for the next round. */
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

export class GroupDirSync {
  private readonly dirs = new Map<string, DirState>();
  /** fsync calls made (for the store's status). */
  syncs = 0;

  sync(dir: string): Promise<void> {
    let st = this.dirs.get(dir);
    if (!st) {
      st = { running: false, waiters: [] };
      this.dirs.set(dir, st);
    }
    const state = st;
    const p = new Promise<void>((resolve, reject) => state.waiters.push({ resolve, reject }));
    if (!state.running) void this.round(dir, state);
    return p;
  }

  private async round(dir: string, st: DirState): Promise<void> {
    st.running = true;
    // One open descriptor for the rounds of a burst (fsync covers the directory as it is when called,
    // whenever it was opened): two system calls less per round than opening it each time.
    let fd: number | undefined;
    try {
      while (st.waiters.length > 0) {
        await yieldToLoop();
        const batch = st.waiters;
        st.waiters = [];
        this.syncs++;
        try {
          fd ??= await openDir(dir);
          await fsyncFdAsync(fd);
          for (const w of batch) w.resolve();
        } catch (err) {
          for (const w of batch) w.reject(err);
          if (fd !== undefined) closeQuiet(fd);
          fd = undefined;
        }
      }
    } finally {
      if (fd !== undefined) closeQuiet(fd);
      st.running = false;
      this.dirs.delete(dir);
    }
  }
}
