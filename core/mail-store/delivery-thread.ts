// The delivery writer thread (mailStore.deliveryWriter: worker; started by delivery-writer.ts). It runs
// each delivery's file work (delivery-files.ts: create, write, fdatasync, link, rename, directory fsync)
// off the event loop: in this sandbox every file system call costs tens of microseconds, and a delivery
// made about ten of them on the main thread, the largest part of its CPU there (issue 17, api bench).
// Directory fsyncs are grouped here as on the main thread (GroupDirSync), over the jobs in flight. The
// uid-list appends (appendDurable) run here too: the deliveries' own lines inside their jobs, and the
// store's other appends (APPEND, COPY, recovery) as requests of their own.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { writeDeliveryFiles, type LineAppender, type UidListLines } from './delivery-files.js';
import type { WriterReply, WriterRequest } from './delivery-writer.js';
import { appendDurable, errnoCode } from './fs-util.js';
import { GroupDirSync } from './group-sync.js';

if (!parentPort) throw new Error('delivery-thread.js runs only as a worker thread (core/mail-store/delivery-writer.ts)');
const port: MessagePort = parentPort;
const dirSync = new GroupDirSync();

// Replies finished in one turn (a directory fsync round ends many deliveries at once) go back in one
// message, as the requests come (delivery-writer.ts).
let outbox: WriterReply[] = [];
function reply(r: WriterReply): void {
  outbox.push(r);
  if (outbox.length === 1)
    setImmediate(() => {
      const batch = outbox;
      outbox = [];
      port.postMessage(batch);
    });
}

function run(req: WriterRequest, written: Promise<void> | undefined, lines: LineAppender): void {
  let cutFailed = false;
  const work =
    'job' in req
      ? writeDeliveryFiles(req.job, dirSync, written, lines)
      : appendDurable(req.append.path, req.append.text, req.append.durable, () => (cutFailed = true), written).then(() => []);
  work.then(
    (dates) => reply({ id: req.id, dates, syncs: dirSync.syncs }),
    (err: unknown) =>
      reply({
        id: req.id,
        error: { code: errnoCode(err), message: err instanceof Error ? err.message : String(err), cutFailed },
        syncs: dirSync.syncs,
      }),
  );
}

// The jobs of one message (the deliveries that ended in one turn of the event loop, and uid-list
// appends) each create or append and write their file first; their fdatasyncs are issued only once every file of the message is written
// (`written`). Issued as each file was written, the first fdatasync's journal commit started before
// the next file was created, whose create then waited for that commit (open(O_CREAT) blocked 0.2 to
// 0.7 ms each on ext4, one after another on this thread) and whose own fdatasync needed one more
// commit. With the files written first, the group's metadata is in one journal transaction and its
// concurrent fdatasyncs can share its commit (issue 17, api bench).
//
// The uid-list lines of a message's deliveries (their UIDs are handed out before the write) are
// appended per list in one write and one fdatasync, beside the files' fdatasyncs, once every delivery
// of the message with lines there has written its files (or failed): each waits for that one append
// (a failure fails them all, and each removes its files).
port.on('message', (batch: WriterRequest[]) => {
  let release = (): void => {};
  const written = new Promise<void>((r) => (release = r));
  try {
    const lines = batchLineAppender(batch, written);
    for (const req of batch) run(req, written, lines);
  } finally {
    release();
  }
});
port.postMessage('ready');

/** One append per uid list for the jobs of one message (see LineAppender). */
function batchLineAppender(batch: readonly WriterRequest[], written: Promise<void>): LineAppender {
  const lists = new Map<string, { expected: number; texts: string[]; done: Promise<void>; go: (text: string) => void }>();
  for (const req of batch)
    for (const l of 'job' in req ? (req.job.uidLines ?? []) : []) {
      let list = lists.get(l.path);
      if (!list) {
        let go = (_text: string): void => {};
        const done = new Promise<string>((resolve) => (go = resolve)).then((text) => appendDurable(l.path, text, true, () => undefined, written));
        done.catch(() => undefined); // each job with lines there awaits it
        list = { expected: 0, texts: [], done, go };
        lists.set(l.path, list);
      }
      list.expected++;
    }
  const settle = (l: UidListLines, text: string | undefined): Promise<void> => {
    const list = lists.get(l.path);
    if (!list) return Promise.reject(new Error('uid-list lines not announced in the batch'));
    if (text === undefined) list.expected--;
    else list.texts.push(text);
    if (list.texts.length === list.expected && list.expected > 0) list.go(list.texts.join(''));
    return list.done;
  };
  return {
    append: (l) => settle(l, l.text),
    withdraw: (l) => void settle(l, undefined),
  };
}
