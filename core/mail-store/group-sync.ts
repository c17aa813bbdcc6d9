// Group commit for directory fsyncs. A delivery is durable once its file is fsynced and the rename
// into new/ is on disk, which takes an fsync of new/. A caller needs an fsync that *starts after* its
// rename. The renames made in one turn of the loop share one fsync, issued at the end of that turn
// (setImmediate): the deliveries whose file syncs finished together (the thread pool reports its
// completions together) then make one system call and one thread-pool round trip, which on a fast
// file system (tmpfs) is the whole cost of a directory fsync (issue 17).
//
// A round never waits for an earlier one still in flight: the next turn's round is issued at once,
// beside it. Waiting for the running fsync to return before issuing the next (as this did before)
// added a whole fsync, plus the trip back through the thread pool and the loop, to every delivery
// that arrived while one was running, which on a real disk was most of them: the api bench with
// five connections took 1.7x as long as with an fsync per delivery (issue 17). The file system
// still merges concurrent fsyncs of one directory into one journal commit (ext4's jbd2 does), so
// nothing is lost by issuing them side by side.
import { fsyncDir, yieldToLoop } from './fs-util.js';

interface Round {
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

export class GroupDirSync {
  /** The round of each directory that is gathering callers (not yet issued). */
  private readonly gathering = new Map<string, Round>();
  /** fsync calls made (for the store's status). */
  syncs = 0;

  sync(dir: string): Promise<void> {
    let round = this.gathering.get(dir);
    if (!round) {
      round = { waiters: [] };
      this.gathering.set(dir, round);
      void this.issue(dir, round);
    }
    const r = round;
    return new Promise<void>((resolve, reject) => r.waiters.push({ resolve, reject }));
  }

  private async issue(dir: string, round: Round): Promise<void> {
    await yieldToLoop();
    // From here on, a new caller starts the next round: its rename may come after this fsync began.
    this.gathering.delete(dir);
    this.syncs++;
    try {
      await fsyncDir(dir);
      for (const w of round.waiters) w.resolve();
    } catch (err) {
      for (const w of round.waiters) w.reject(err);
    }
  }
}
