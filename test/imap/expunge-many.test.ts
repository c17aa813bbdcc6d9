// EXPUNGE of many messages: the view drops them in one pass (services/imap/selected-mailbox.ts,
// removeFromView) where one splice each cost the mailbox's length per message. Every `* n EXPUNGE`
// must be valid when sent (RFC 3501 section 7.4.1), for the session that expunged and for another
// session that hears of it at its next command; replaying the numbers on a model of the mailbox must
// remove exactly the deleted messages.
import test from 'ava';
import { closeMailFixtures } from '../core/line-transcript.js';
import { command, imapLab, login } from './transcript-lab.js';

test.after.always(async () => {
  await closeMailFixtures();
});

/** Replays the EXPUNGE numbers on sequence 1..count (UID = position here); returns the UIDs removed. */
function replay(count: number, lines: readonly string[]): { removed: number[]; left: number } {
  const view = Array.from({ length: count }, (_, i) => i + 1);
  const removed: number[] = [];
  for (const l of lines) {
    const m = /^\* (\d+) EXPUNGE$/.exec(l);
    if (!m) continue;
    const seq = Number(m[1]);
    if (seq < 1 || seq > view.length) throw new Error(`${l}: the view has ${view.length} messages`);
    removed.push(...view.splice(seq - 1, 1));
  }
  return { removed, left: view.length };
}

for (const [count, every] of [
  [20, 4], // 5 deletions: one by one
  [120, 2], // 60 deletions: one pass
] as const) {
  test(`EXPUNGE of ${count / every} of ${count} messages: the numbers are right for the expunging session and for another one`, async (t) => {
    const { open } = await imapLab(count);
    const a = open();
    const b = open();
    await login(a);
    await login(b);
    await command(a, 's', 'SELECT INBOX');
    await command(b, 's', 'SELECT INBOX');
    const deleted = Array.from({ length: count / every }, (_, i) => (i + 1) * every);
    await command(a, 'd', `UID STORE ${deleted.join(',')} +FLAGS.SILENT (\\Deleted)`);
    const own = replay(count, await command(a, 'e', 'EXPUNGE'));
    t.deepEqual(
      own.removed.sort((x, y) => x - y),
      deleted,
      'the expunging session is told of exactly the deleted messages',
    );
    t.is(own.left, count - deleted.length);
    const other = replay(count, await command(b, 'n', 'NOOP'));
    t.deepEqual(
      other.removed.sort((x, y) => x - y),
      deleted,
      'another session too',
    );
    // What is left lines up with the store: the UIDs of the survivors, in order.
    const fetched = (await command(b, 'f', 'FETCH 1:* (UID)')).map((l) => Number(/UID (\d+)/.exec(l)?.[1]));
    t.deepEqual(
      fetched,
      Array.from({ length: count }, (_, i) => i + 1).filter((u) => !deleted.includes(u)),
    );
  });
}
