// The linked list servers keep their open connections in (core/live-list.ts).
import test from 'ava';
import fc from 'fast-check';
import { LiveList, type LiveLinks } from '../../core/live-list.js';

class Item implements LiveLinks<Item> {
  liveNext: Item | undefined = undefined;
  livePrev: Item | undefined = undefined;
  liveIn: object | undefined = undefined;
  constructor(readonly n: number) {}
}

const ids = (l: LiveList<Item>): number[] => l.toArray().map((x) => x.n);

test('add keeps insertion order; delete unlinks from the head, middle and tail', (t) => {
  const l = new LiveList<Item>();
  const items = [0, 1, 2, 3, 4].map((n) => new Item(n));
  for (const x of items) l.add(x);
  t.deepEqual(ids(l), [0, 1, 2, 3, 4]);
  t.is(l.size, 5);
  t.true(l.delete(items[2]));
  t.true(l.delete(items[0]));
  t.true(l.delete(items[4]));
  t.deepEqual(ids(l), [1, 3]);
  t.is(l.size, 2);
  // A deleted member keeps no links into the list.
  t.is(items[2].liveNext, undefined);
  t.is(items[2].livePrev, undefined);
  t.false(l.has(items[2]));
  t.true(l.has(items[1]));
});

test('adding a member twice or deleting a stranger changes nothing', (t) => {
  const a = new LiveList<Item>();
  const b = new LiveList<Item>();
  const x = new Item(1);
  a.add(x);
  a.add(x);
  t.is(a.size, 1);
  b.add(x); // already in a: not taken
  t.is(b.size, 0);
  t.false(b.delete(x));
  t.deepEqual(ids(a), [1]);
  t.true(a.delete(x));
  t.false(a.delete(x));
  t.is(a.size, 0);
  t.deepEqual(ids(a), []);
});

test('forEach visits every member even when each removes itself', (t) => {
  const l = new LiveList<Item>();
  for (let n = 0; n < 6; n++) l.add(new Item(n));
  const seen: number[] = [];
  l.forEach((x) => {
    seen.push(x.n);
    l.delete(x);
  });
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  t.is(l.size, 0);
});

test('property: any sequence of adds and deletes matches a Set', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { maxLength: 200 }), (ops) => {
      const pool = Array.from({ length: 16 }, (_, n) => new Item(n));
      const l = new LiveList<Item>();
      const model = new Set<number>();
      for (const [add, n] of ops) {
        if (add) {
          l.add(pool[n]);
          model.add(n);
        } else {
          t.is(l.delete(pool[n]), model.delete(n));
        }
      }
      t.deepEqual(ids(l), [...model]);
      t.is(l.size, model.size);
    }),
  );
});
