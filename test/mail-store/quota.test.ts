// Issue 14: per-user quotas (octets and messages over every folder of the user), enforced atomically
// on delivery, APPEND and COPY, reported by quota() for RFC 9208 QUOTA.
import test from 'ava';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfigSchema, parseConfig } from '../../core/config.js';
import { DEFAULT_QUOTA } from '../../core/mail-store/config.js';
import { MailStore, MailStoreError } from '../../core/mail-store/index.js';

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labnet-store-quota-'));
}

async function started(quota: { maxBytes?: number; maxMessages?: number }, root = freshRoot()): Promise<MailStore> {
  const s = new MailStore({ root, quota });
  await s.start();
  return s;
}

const msg = (n: number, size = 100): Buffer => {
  const head = `Subject: m${n}\r\n\r\n`;
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length)));
};

async function overQuota(t: import('ava').ExecutionContext, p: Promise<unknown>, resource: 'bytes' | 'messages', user = 'alice'): Promise<void> {
  const err = await t.throwsAsync(p);
  t.true(err instanceof MailStoreError);
  t.like(err, { code: 'OVER_QUOTA', user, resource });
  t.false(/\/|\\/.test(err.message), 'no path in the message');
}

test('config: mailStore.quota has defaults, takes values, and refuses unknown keys and negative numbers', (t) => {
  const schema = buildConfigSchema([]);
  t.deepEqual(parseConfig(schema, {}, 'test', '/').mailStore?.quota, { ...DEFAULT_QUOTA });
  t.deepEqual(parseConfig(schema, { mailStore: { quota: { maxMessages: 5 } } }, 'test', '/').mailStore?.quota, {
    maxBytes: DEFAULT_QUOTA.maxBytes,
    maxMessages: 5,
  });
  t.throws(() => parseConfig(schema, { mailStore: { quota: { maxMesages: 5 } } }, 'test', '/'), { message: /mailStore\.quota\.maxMesages: unknown key/ });
  t.throws(() => parseConfig(schema, { mailStore: { quota: { maxBytes: -1 } } }, 'test', '/'), { message: /mailStore\.quota\.maxBytes/ });
});

test('the store built by the container takes its quota from the config', async (t) => {
  const dataDir = freshRoot();
  const config = parseConfig(buildConfigSchema([]), { mailStore: { quota: { maxBytes: 0, maxMessages: 2 } } }, 'test', '/');
  const s = new MailStore(dataDir, undefined, config);
  await s.start();
  t.deepEqual(s.quotaLimits, { maxBytes: 0, maxMessages: 2 });
  await s.deliver(msg(1), [{ user: 'alice' }]);
  await s.deliver(msg(2), [{ user: 'alice' }]);
  await overQuota(t, s.deliver(msg(3), [{ user: 'alice' }]), 'messages');
  t.deepEqual(await s.quota('alice'), { bytes: { used: 200 }, messages: { used: 2, limit: 2 } });
  await s.stop();
});

test('quota(user) counts every folder, each copy, and what expunge and DELETE free', async (t) => {
  const s = await started({ maxBytes: 10_000, maxMessages: 100 });
  t.deepEqual(await s.quota('nobody'), { bytes: { used: 0, limit: 10_000 }, messages: { used: 0, limit: 100 } });
  await s.ensureDefaultFolders('alice');
  await s.deliver(msg(1, 1000), [{ user: 'alice' }, { user: 'alice', folder: 'Archive' }, { user: 'bob' }]);
  const a = await s.append('alice', 'Sent', msg(2, 500));
  t.deepEqual(await s.quota('alice'), { bytes: { used: 2500, limit: 10_000 }, messages: { used: 3, limit: 100 } });
  t.deepEqual((await s.quota('bob')).bytes.used, 1000);
  await s.copy('alice', 'Sent', [a.uid], 'Drafts');
  t.is((await s.quota('alice')).bytes.used, 3000);
  await s.expunge('alice', 'Sent', [a.uid]);
  t.is((await s.quota('alice')).bytes.used, 2500);
  await s.deleteFolder('alice', 'Archive');
  t.deepEqual((await s.quota('alice')).messages.used, 2);
  await s.createFolder('alice', 'Projects');
  await s.append('alice', 'Projects', msg(3, 700));
  await s.renameFolder('alice', 'Projects', 'Done');
  t.deepEqual(await s.quota('alice'), { bytes: { used: 2200, limit: 10_000 }, messages: { used: 3, limit: 100 } });
  await s.stop();
  // The same after a restart (the usage is rebuilt from the folders).
  const again = new MailStore({ root: s.root, quota: { maxBytes: 10_000, maxMessages: 100 } });
  await again.start();
  t.deepEqual(await again.quota('alice'), { bytes: { used: 2200, limit: 10_000 }, messages: { used: 3, limit: 100 } });
  await again.stop();
});

test("a delivery over one recipient's quota is refused as a whole: no copy for anyone", async (t) => {
  const s = await started({ maxBytes: 1500, maxMessages: 0 });
  await s.deliver(msg(1, 1000), [{ user: 'bob' }]);
  t.true(await s.quotaAllows('alice', 1000));
  t.false(await s.quotaAllows('bob', 1000));
  await overQuota(t, s.deliver(msg(2, 1000), [{ user: 'alice' }, { user: 'bob' }, { user: 'carol' }]), 'bytes', 'bob');
  for (const u of ['alice', 'carol']) t.is((await s.open(u, 'INBOX')).messages.length, 0);
  t.is((await s.open('bob', 'INBOX')).messages.length, 1);
  // Two copies for one user count twice.
  await overQuota(t, s.deliver(msg(3, 800), [{ user: 'alice' }, { user: 'alice', folder: 'Archive' }]), 'bytes');
  t.is((await s.quota('alice')).bytes.used, 0);
  t.deepEqual(readdirSync(join(s.root, 'alice', 'tmp')), []);
  t.is(s.stats().quotaRefusals, 2);
  await s.stop();
});

test('APPEND and COPY over quota change nothing and leave nothing in tmp/; MOVE is not charged', async (t) => {
  const s = await started({ maxBytes: 0, maxMessages: 3 });
  await s.ensureDefaultFolders('alice');
  const uids: number[] = [];
  for (let i = 0; i < 3; i++) uids.push((await s.append('alice', 'INBOX', msg(i))).uid);
  await overQuota(t, s.append('alice', 'INBOX', msg(9)), 'messages');
  await overQuota(t, s.copy('alice', 'INBOX', uids.slice(0, 1), 'Archive'), 'messages');
  t.is((await s.open('alice', 'Archive')).messages.length, 0);
  t.deepEqual(readdirSync(join(s.root, 'alice', 'tmp')), []);
  t.deepEqual(readdirSync(join(s.root, 'alice', '.Archive', 'tmp')), []);
  t.deepEqual(readdirSync(join(s.root, 'alice', '.Archive', 'cur')), []);
  // At the limit a user can still move mail away (to Trash, say): a MOVE adds nothing.
  const moved = await s.move('alice', 'INBOX', uids.slice(0, 2), 'Trash');
  t.is(moved.mapping.length, 2);
  const viaCopy = await s.copy('alice', 'INBOX', [uids[2]], 'Trash', { forMove: true });
  t.is(viaCopy.mapping.length, 1);
  await s.expunge('alice', 'INBOX', [uids[2]]);
  t.is((await s.quota('alice')).messages.used, 3);
  await s.stop();
});

test('concurrent deliveries, APPENDs and COPYs racing for the last places: exactly the limit gets through', async (t) => {
  const s = await started({ maxBytes: 0, maxMessages: 10 });
  await s.ensureDefaultFolders('alice');
  const first = await s.append('alice', 'INBOX', msg(0));
  const results = await Promise.allSettled([
    ...Array.from({ length: 8 }, (_, i) => s.deliver(msg(100 + i), [{ user: 'alice' }])),
    ...Array.from({ length: 8 }, (_, i) => s.append('alice', 'Sent', msg(200 + i))),
    ...Array.from({ length: 8 }, () => s.copy('alice', 'INBOX', [first.uid], 'Archive')),
  ]);
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const refused = results.filter((r) => r.status === 'rejected' && (r.reason as MailStoreError).code === 'OVER_QUOTA').length;
  t.is(ok, 9);
  t.is(refused, results.length - 9);
  await s.stop();
  const again = new MailStore({ root: s.root, quota: { maxBytes: 0, maxMessages: 10 } });
  await again.start();
  t.is((await again.quota('alice')).messages.used, 10);
  await again.stop();
});

test('limits of 0 mean no limit, and quota() then reports no limit', async (t) => {
  const s = await started({ maxBytes: 0, maxMessages: 0 });
  for (let i = 0; i < 30; i++) await s.deliver(msg(i, 2000), [{ user: 'alice' }]);
  t.deepEqual(await s.quota('alice'), { bytes: { used: 60_000 }, messages: { used: 30 } });
  await s.stop();
});
