// Who does a delivery's file work (delivery-files.ts), chosen by `mailStore.deliveryWriter`:
//   worker  (default) a worker thread (node:worker_threads, delivery-thread.ts): the event loop posts
//           the message's octets and paths and gets the internal dates back, one message each way,
//           instead of making about ten file system calls and two thread-pool round trips itself
//   inline  the same function on the event loop (no extra thread: about 10 MB less memory)
// The uid-list appends (appendDurable) go the same way, so a delivery makes no file system call on
// the event loop.
// Both run the same steps in the same order, so durability is the same: the file fdatasync'ed, the
// renames, the directory fsync, all before the promise resolves. The thread starts on the first
// delivery. If it cannot start, the jobs waiting for it and every later one run inline (logged once);
// if it dies later, the jobs it had fail (IO_ERROR: the client gets a temporary error and sends again,
// as after any crash) and the next delivery starts a new one.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { projectPath } from '../paths.js';
import { writeDeliveryFiles, type DeliveryFilesJob } from './delivery-files.js';
import { appendDurable } from './fs-util.js';
import type { GroupDirSync } from './group-sync.js';

export type DeliveryWriterMode = 'worker' | 'inline';

/** An append to a bookkeeping file (the uid list): appendDurable's arguments. */
export interface AppendJob {
  path: string;
  text: string;
  durable: boolean;
}

export type WriterRequest = { id: number; job: DeliveryFilesJob } | { id: number; append: AppendJob };

export type WriterReply =
  { id: number; dates: number[]; syncs: number } | { id: number; error: { code: string | undefined; message: string; cutFailed: boolean }; syncs: number };

export interface DeliveryWriter {
  /** Runs the job (see writeDeliveryFiles): each part's internal date, or the file system's error. */
  write(job: DeliveryFilesJob): Promise<number[]>;
  /** appendDurable (fs-util.ts), in the same place as the deliveries' files. */
  append(path: string, text: string, durable: boolean, onCutFailed: () => void): Promise<void>;
  /** Directory fsyncs made by this writer. */
  readonly dirSyncs: number;
  /** Waits for the jobs in flight. */
  drain(): Promise<void>;
  /** Waits for the jobs in flight; then releases the thread, if any (later jobs run on the event loop). */
  stop(): Promise<void>;
}

export function createDeliveryWriter(mode: DeliveryWriterMode, dirSync: GroupDirSync, logger?: Logger): DeliveryWriter {
  const inline = new InlineDeliveryWriter(dirSync);
  return mode === 'worker' ? new ThreadDeliveryWriter(inline, logger) : inline;
}

/** On the event loop, sharing the store's GroupDirSync. */
export class InlineDeliveryWriter implements DeliveryWriter {
  constructor(private readonly dirSync: GroupDirSync) {}

  write(job: DeliveryFilesJob): Promise<number[]> {
    return writeDeliveryFiles(job, this.dirSync);
  }

  append(path: string, text: string, durable: boolean, onCutFailed: () => void): Promise<void> {
    return appendDurable(path, text, durable, onCutFailed);
  }

  get dirSyncs(): number {
    return this.dirSync.syncs;
  }

  async drain(): Promise<void> {}

  async stop(): Promise<void> {}
}

const THREAD_PATH = projectPath('build', 'core', 'mail-store', 'delivery-thread.js');

interface Pending {
  /** Runs the same request on the event loop (when the thread never started). */
  inline: () => Promise<number[]>;
  resolve: (dates: number[]) => void;
  reject: (err: unknown) => void;
  /** An append's cut-back failed (or its state is unknown): the caller marks the file torn. */
  onCutFailed?: () => void;
}

/** In the delivery thread; falls back to `inline` when the thread cannot start. */
export class ThreadDeliveryWriter implements DeliveryWriter {
  private worker: Worker | undefined;
  private online = false;
  private broken = false;
  private stopped = false;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private outbox: WriterRequest[] = [];
  private outboxTransfer: ArrayBuffer[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  /** fsyncs of threads that have exited, plus the current thread's last count. */
  private syncsBefore = 0;
  private syncsNow = 0;

  constructor(
    private readonly inline: InlineDeliveryWriter,
    private readonly logger?: Logger,
    /** The thread's script (tests give a missing one to check the fallback). */
    private readonly threadPath = THREAD_PATH,
  ) {}

  get dirSyncs(): number {
    return this.syncsBefore + this.syncsNow + this.inline.dirSyncs;
  }

  write(job: DeliveryFilesJob): Promise<number[]> {
    if (this.broken || this.stopped) return this.track(this.inline.write(job));
    // One fresh buffer per part, moved (not copied) to the thread: the caller's buffers stay as they
    // are (the delivery notice hands them on), and a Buffer that is a slice of a larger pooled
    // ArrayBuffer would otherwise be cloned whole.
    const parts = job.parts.map((p) => {
      const data = new Uint8Array(p.size);
      let at = 0;
      for (const c of p.chunks) {
        data.set(c, at);
        at += c.length;
      }
      return { ...p, chunks: [data] };
    });
    return this.track(
      this.send(
        (id) => ({ id, job: { parts, syncDirs: job.syncDirs, uidLines: job.uidLines } }),
        parts.map((p) => p.chunks[0].buffer),
        { inline: () => this.inline.write(job) },
      ),
    );
  }

  async append(path: string, text: string, durable: boolean, onCutFailed: () => void): Promise<void> {
    if (this.broken || this.stopped) return this.track(this.inline.append(path, text, durable, onCutFailed));
    await this.track(
      this.send((id) => ({ id, append: { path, text, durable } }), [], {
        inline: () => this.inline.append(path, text, durable, onCutFailed).then(() => []),
        onCutFailed,
      }),
    );
  }

  private send(request: (id: number) => WriterRequest, transfer: ArrayBuffer[], how: Omit<Pending, 'resolve' | 'reject'>): Promise<number[]> {
    const worker = this.worker ?? this.start();
    const id = ++this.seq;
    return new Promise<number[]>((resolve, reject) => {
      this.pending.set(id, { ...how, resolve, reject });
      if (this.pending.size === 1) worker.ref();
      // Requests made in one turn of the loop (deliveries ending on several connections) go over in
      // one message at its end: one wake-up of the thread instead of one each.
      this.outbox.push(request(id));
      this.outboxTransfer.push(...transfer);
      if (this.outbox.length === 1) setImmediate(() => this.flush(worker));
    });
  }

  private flush(worker: Worker): void {
    const batch = this.outbox;
    const transfer = this.outboxTransfer;
    this.outbox = [];
    this.outboxTransfer = [];
    worker.postMessage(batch, transfer);
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.drain();
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const untrack = (): void => void this.inflight.delete(p);
    p.then(untrack, untrack);
    return p;
  }

  private start(): Worker {
    const worker = new Worker(this.threadPath, { name: 'labnet-delivery-writer' });
    this.worker = worker;
    this.online = false;
    // Held open only while jobs are in flight (ref in write, unref when none is left).
    worker.unref();
    worker.on('message', (replies: WriterReply[] | 'ready') => {
      // The thread says 'ready' once its modules are loaded ('online' comes before that).
      if (replies === 'ready') {
        this.online = true;
        return;
      }
      for (const reply of replies) {
        const p = this.pending.get(reply.id);
        if (!p) continue;
        this.pending.delete(reply.id);
        this.syncsNow = reply.syncs;
        if ('error' in reply) {
          if (reply.error.cutFailed) p.onCutFailed?.();
          p.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
        } else p.resolve(reply.dates);
      }
      if (this.pending.size === 0) worker.unref();
    });
    worker.on('error', (err) => {
      if (!this.online && !this.broken) {
        this.broken = true;
        this.logger?.error({ err }, 'mail store: the delivery writer thread did not start; deliveries are written on the event loop');
      } else if (this.online) this.logger?.error({ err }, 'mail store: the delivery writer thread failed; its deliveries in flight fail');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.syncsBefore += this.syncsNow;
      this.syncsNow = 0;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const p of waiting) {
        // Never started: nothing was written, so the inline writer does the job. Started: its state
        // on disk is unknown (as after a crash), so it fails and the client sends again.
        if (this.broken) p.inline().then(p.resolve, p.reject);
        else {
          p.onCutFailed?.();
          p.reject(Object.assign(new Error(`the delivery writer thread exited (code ${code})`), { code: 'EIO' }));
        }
      }
    });
    return worker;
  }
}
