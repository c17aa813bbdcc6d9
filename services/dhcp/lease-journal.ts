// The lease journal: an append-only file of JSON lines, one per lease change, replayed at start-up
// (the last record for an address wins) and compacted into a fresh file when it grows past a few times
// the live leases. Bindings are durable before their ACK leaves: appends are group-committed, so every
// ACK waiting while one fdatasync runs shares the next one (one write + one fdatasync per batch, not
// per lease). A torn last line after kill -9 is cut off at start-up.
//
// A write can be short: on a filling disk write(2) may store fewer bytes than asked and return no
// error. Every write here loops until all bytes are written or an error (ENOSPC) comes; a batch that
// fails is cut off the file again (ftruncate to the last committed length), its waiters are rejected
// and no ACK leaves for them (lease-store.ts undoes their bindings). Appends go on afterwards, so the
// journal recovers by itself once space is freed.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { intToIp, ipToInt } from './ipv4.js';
import { isIPv4 } from 'node:net';

export interface LeaseRecord {
  ip: number;
  client: string;
  mac: string;
  hostname?: string;
  state: 'bound' | 'released' | 'declined';
  expires: number;
  /** Hardware type of `mac` when not Ethernet (1) and the client key does not carry it. */
  htype?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface JournalLoad {
  records: LeaseRecord[];
  /** Lines that could not be read (a torn tail is cut, not counted). */
  skipped: number;
}

export function encodeRecord(r: LeaseRecord): string {
  // One JSON object per line; written by hand (this runs once per ACK). Client keys and MACs are hex,
  // colons and a prefix, so only the host name needs JSON escaping.
  const host = r.hostname ? `,"h":${JSON.stringify(r.hostname)}` : '';
  const htype = r.htype !== undefined ? `,"t":${r.htype}` : '';
  return `{"ip":"${intToIp(r.ip)}","c":${JSON.stringify(r.client)},"m":"${r.mac}","s":"${r.state[0]}","e":${r.expires}${host}${htype}}\n`;
}

const STATES = { b: 'bound', r: 'released', d: 'declined' } as const;

export function decodeRecord(line: string): LeaseRecord | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  if (typeof r.ip !== 'string' || !isIPv4(r.ip) || typeof r.c !== 'string' || typeof r.m !== 'string' || typeof r.e !== 'number') return undefined;
  const state = STATES[r.s as keyof typeof STATES];
  if (!state) return undefined;
  const htype = typeof r.t === 'number' && Number.isInteger(r.t) && r.t >= 0 && r.t <= 255 ? { htype: r.t } : {};
  return { ip: ipToInt(r.ip), client: r.c, mac: r.m, state, expires: r.e, ...(typeof r.h === 'string' && r.h ? { hostname: r.h } : {}), ...htype };
}

export class LeaseJournal {
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private closed = false;
  /** Records in the file (for the compaction trigger). */
  private recordCount = 0;
  /** The file's committed length: where a failed batch is cut back to. */
  private length = 0;
  /** A failed batch may be partly in the file and could not be cut off yet. */
  private torn = false;
  /** fdatasync calls, records written and failed batches (the status page and the benchmark show them). */
  syncs = 0;
  written = 0;
  failures = 0;

  constructor(
    readonly path: string,
    private readonly shouldCompact: (records: number) => boolean,
    private readonly snapshot: () => Iterable<LeaseRecord>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Reads the journal (cutting a torn tail). Synchronous: it runs once, before serving. */
  load(): JournalLoad {
    mkdirSync(dirname(this.path), { recursive: true });
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: 0 };
      throw err;
    }
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline + 1 !== text.length) {
      // kill -9 in the middle of a write: that record was never acknowledged.
      truncateSync(this.path, Buffer.byteLength(text.slice(0, lastNewline + 1)));
      text = text.slice(0, lastNewline + 1);
    }
    const records: LeaseRecord[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const r = decodeRecord(line);
      if (r) records.push(r);
      else skipped++;
    }
    this.recordCount = records.length + skipped;
    return { records, skipped };
  }

  /** Opens the file for appending (after load and restore). Compacts first when it is large. */
  async open(): Promise<void> {
    if (this.shouldCompact(this.recordCount)) {
      try {
        this.compactSync();
      } catch (err) {
        this.onError(err);
      }
    }
    this.fh = await open(this.path, 'a');
    this.length = (await this.fh.stat()).size;
    fsyncDir(dirname(this.path));
  }

  /** Appends a record; resolves when it is on disk. */
  append(record: LeaseRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('lease journal is closed'));
    this.pending.push(encodeRecord(record));
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      // Let every request already received this tick join the batch.
      setImmediate(() => void this.flushLoop());
    }
    return p;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 && this.fh) {
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      const data = Buffer.from(lines.join(''));
      try {
        // A batch that failed earlier may still be half in the file: nothing is appended behind it.
        if (this.torn) await this.cutBack();
        await writeFully(this.fh, data);
        await this.fh.datasync();
        this.length += data.length;
        this.syncs++;
        this.written += lines.length;
        this.recordCount += lines.length;
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failures++;
        this.torn = true;
        try {
          await this.cutBack();
        } catch (cutErr) {
          this.onError(cutErr);
        }
        for (const w of waiters) w.reject(err);
        this.onError(err);
      }
      if (this.shouldCompact(this.recordCount)) {
        try {
          await this.compact();
        } catch (err) {
          this.onError(err);
        }
      }
    }
    this.flushing = false;
  }

  /**
   * After a failed batch: cuts the file back to its last committed length, so a half-written batch
   * never becomes a torn line in the middle of the journal (the next batch would be glued to it).
   * Until that succeeds (`torn`), every batch fails.
   */
  private async cutBack(): Promise<void> {
    await this.fh!.truncate(this.length);
    this.torn = false;
  }

  /** Rewrites the journal as one record per remembered lease: temp file, fsync, rename, fsync dir. */
  private async compact(): Promise<void> {
    if (!this.fh) return;
    await this.fh.close();
    this.fh = undefined;
    let compacted = false;
    try {
      this.compactSync();
      compacted = true;
    } finally {
      this.fh = await open(this.path, 'a');
      // A fresh file holds only whole records; after a failed compaction the old length still stands.
      if (compacted) {
        this.length = (await this.fh.stat()).size;
        this.torn = false;
      }
    }
  }

  private compactSync(): void {
    const tmp = `${this.path}.compact`;
    const fd = openSync(tmp, 'w');
    let n = 0;
    try {
      let chunk: string[] = [];
      for (const r of this.snapshot()) {
        chunk.push(encodeRecord(r));
        n++;
        if (chunk.length >= 1024) {
          writeFullySync(fd, Buffer.from(chunk.join('')));
          chunk = [];
        }
      }
      if (chunk.length) writeFullySync(fd, Buffer.from(chunk.join('')));
      fsyncSync(fd);
    } catch (err) {
      // The full disk keeps the old journal (still complete); the partial copy gives its space back.
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, this.path);
    fsyncDir(dirname(this.path));
    this.recordCount = n;
  }

  /** Waits for pending appends, then closes. */
  async close(): Promise<void> {
    this.closed = true;
    for (let i = 0; i < 500 && this.flushing; i++) await new Promise((r) => setTimeout(r, 10));
    await this.fh?.close();
    this.fh = undefined;
  }

  get records(): number {
    return this.recordCount;
  }

  size(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` at the end of the file: loops over short writes; a write of 0 bytes is an error. */
export async function writeFully(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    if (bytesWritten <= 0) throw noProgress();
    off += bytesWritten;
  }
}

export function writeFullySync(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw noProgress();
    off += n;
  }
}

function noProgress(): NodeJS.ErrnoException {
  return Object.assign(new Error('write made no progress (disk full?)'), { code: 'ENOSPC' });
}
