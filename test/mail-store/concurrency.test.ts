// Deliveries, flag changes, expunges, appends, copies and moves racing on the same folders: the
// store stays consistent with the disk, watchers see every change in order, and a restart gives the
// same state.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailStore, type FolderChange } from '../../core/mail-store/index.js';

type Op =
  | { kind: 'deliver'; n: number }
  | { kind: 'flags'; pick: number; op: 'set' | 'add' | 'remove'; flags: string[] }
  | { kind: 'expunge'; pick: number }
  | { kind: 'expungeDeleted' }
  | { kind: 'append'; n: number }
  | { kind: 'copy'; pick: number }
  | { kind: 'move'; pick: number };

const flagSet = fc.subarray(['\\Seen', '\\Flagged', '\\Deleted', '\\Answered', '\\Draft', 'red', 'blue']);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('deliver' as const), n: fc.nat(1000) }),
  fc.record({ kind: fc.constant('flags' as const), pick: fc.nat(), op: fc.constantFrom('set' as const, 'add' as const, 'remove' as const), flags: flagSet }),
  fc.record({ kind: fc.constant('expunge' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('expungeDeleted' as const) }),
  fc.record({ kind: fc.constant('append' as const), n: fc.nat(1000) }),
  fc.record({ kind: fc.constant('copy' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('move' as const), pick: fc.nat() }),
);

function filesOnDisk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of ['new', 'cur']) {
    for (const f of readdirSync(join(dir, sub))) {
      const i = f.indexOf(':2,');
      out.set(i < 0 ? f : f.slice(0, i), i < 0 ? '' : f.slice(i + 3));
    }
  }
  return out;
}

test('racing mutations keep memory, disk, uid list and watchers consistent, and survive a restart', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
      const root = mkdtempSync(join(tmpdir(), 'labnet-store-race-'));
      let store = new MailStore({ root });
      await store.start();
      await store.ensureDefaultFolders('alice');
      const events: Record<string, FolderChange[]> = { INBOX: [], Archive: [] };
      for (const f of ['INBOX', 'Archive']) store.watch('alice', f, (c) => events[f].push(c));
      const uidsOf = async (f: string): Promise<number[]> => (await store.open('alice', f)).messages.map((m) => m.uid);
      await Promise.all(
        ops.map(async (o) => {
          const inbox = await uidsOf('INBOX');
          const pickOne = (p: number): number[] => (inbox.length ? [inbox[p % inbox.length]] : []);
          switch (o.kind) {
            case 'deliver':
              await store.deliver(Buffer.from(`Subject: d${o.n}\r\n\r\nx\r\n`), [{ user: 'alice' }]);
              break;
            case 'flags':
              await store.updateFlags('alice', 'INBOX', pickOne(o.pick), o.op, o.flags);
              break;
            case 'expunge':
              await store.expunge('alice', 'INBOX', pickOne(o.pick));
              break;
            case 'expungeDeleted':
              await store.expunge('alice', 'INBOX');
              break;
            case 'append':
              await store.append('alice', 'INBOX', Buffer.from(`Subject: a${o.n}\r\n\r\ny\r\n`), { flags: ['\\Seen'] });
              break;
            case 'copy':
              await store.copy('alice', 'INBOX', pickOne(o.pick), 'Archive');
              break;
            case 'move':
              await store.move('alice', 'INBOX', pickOne(o.pick), 'Archive');
              break;
          }
        }),
      );
      const snaps = { INBOX: await store.open('alice', 'INBOX'), Archive: await store.open('alice', 'Archive') };
      await store.stop();
      for (const [name, snap] of Object.entries(snaps)) {
        const dir = name === 'INBOX' ? join(root, 'alice') : join(root, 'alice', '.Archive');
        const disk = filesOnDisk(dir);
        // Memory matches the directory: same messages, flags as in the file names.
        if (disk.size !== snap.messages.length) return false;
        const letter: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };
        for (const m of snap.messages) {
          if (!disk.has(m.uniqueName)) return false;
          const sys = m.flags
            .filter((f) => f.startsWith('\\'))
            .map((f) => letter[f])
            .sort()
            .join('');
          const onDisk = disk.get(m.uniqueName)!.replace(/[^A-Z]/g, '');
          if (sys !== onDisk) return false;
          if (m.flags.filter((f) => !f.startsWith('\\')).length !== disk.get(m.uniqueName)!.replace(/[^a-z]/g, '').length) return false;
        }
        // UIDs strictly increasing and below UIDNEXT; the uid list names each message with its UID.
        const uids = snap.messages.map((m) => m.uid);
        if (uids.some((u, i) => i > 0 && u <= uids[i - 1]) || uids.some((u) => u >= snap.uidNext)) return false;
        const list = readFileSync(join(dir, 'dovecot-uidlist'), 'utf8');
        for (const m of snap.messages) if (!list.includes(`${m.uid} :${m.uniqueName}\n`)) return false;
        // Replaying the watcher events gives the same set of UIDs.
        const live = new Set<number>();
        for (const c of events[name]) {
          if (c.kind === 'exists') for (const m of c.messages) live.add(m.uid);
          if (c.kind === 'expunge') for (const u of c.uids) live.delete(u);
        }
        if ([...live].sort((a, b) => a - b).join() !== uids.join()) return false;
      }
      store = new MailStore({ root });
      await store.start();
      const again = { INBOX: await store.open('alice', 'INBOX'), Archive: await store.open('alice', 'Archive') };
      await store.stop();
      return JSON.stringify(again) === JSON.stringify(snaps);
    }),
    { numRuns: 25 },
  );
  t.pass();
});
