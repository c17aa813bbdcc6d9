// A small file system for disk-full tests: a size-limited tmpfs mounted in a private mount namespace
// (unshare -m), so nothing on this machine sees it. A holder process keeps the namespace alive; code
// runs inside it through `nsenter --mount` (wrap()), and the test reads and fills it from outside
// through /proc/<holder>/root (path()). stop() ends the holder, which unmounts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { waitFor } from './netns-fixture.js';

const live = new Set<SmallDisk>();
process.on('exit', () => {
  for (const d of live) d.stop();
});

export class SmallDisk {
  private constructor(
    readonly mountpoint: string,
    private readonly holder: ChildProcess,
  ) {}

  /** Mounts a tmpfs of `size` (mount(8) syntax, e.g. "64k") on `mountpoint` in a new mount namespace. */
  static async create(mountpoint: string, size: string): Promise<SmallDisk> {
    mkdirSync(mountpoint, { recursive: true });
    const holder = spawn(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t tmpfs -o size=${size},mode=0755 tmpfs "$1" && echo mounted && exec sleep 3600`,
        'sh',
        mountpoint,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    holder.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const ok = await waitFor(() => out.includes('mounted') || holder.exitCode !== null, 10_000);
    if (!ok || holder.exitCode !== null) {
      holder.kill('SIGKILL');
      throw new Error(`could not mount a tmpfs in a private mount namespace: ${out}`);
    }
    const disk = new SmallDisk(mountpoint, holder);
    live.add(disk);
    return disk;
  }

  /** Command prefix that runs a program inside the mount namespace. */
  wrap(): string[] {
    return ['nsenter', `--mount=/proc/${this.holder.pid}/ns/mnt`];
  }

  /** The path, as seen from outside, of `inside` (an absolute path under the mountpoint). */
  path(inside: string): string {
    return `/proc/${this.holder.pid}/root${inside}`;
  }

  /** Fills the file system with a filler file until the kernel refuses (ENOSPC); returns its size. */
  fill(): number {
    const fd = openSync(this.path(`${this.mountpoint}/filler`), 'w');
    const chunk = Buffer.alloc(4096, 0x78);
    let total = 0;
    try {
      for (let i = 0; i < 1_000_000; i++) {
        const n = writeSync(fd, chunk);
        total += n;
        if (n < chunk.length) continue; // short write: the next one says ENOSPC
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
    return total;
  }

  /** Deletes the filler: the space is free again. */
  free(): void {
    rmSync(this.path(`${this.mountpoint}/filler`), { force: true });
  }

  stop(): void {
    if (!live.delete(this)) return;
    if (this.holder.exitCode === null && this.holder.signalCode === null) this.holder.kill('SIGKILL');
  }
}
