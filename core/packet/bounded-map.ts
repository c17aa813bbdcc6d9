// A Map with a capacity: past it, the entry inserted first goes. The insertion order lives in a ring
// of keys beside the Map, so evicting never walks a Map iterator over the holes deletions leave in
// V8's hash table (an iterator's next() would skip every hole since the last rehash: O(capacity)).

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly ring: Array<K | undefined>;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<K | undefined>(Math.max(1, capacity));
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets the value; a new key may push out the oldest one (a key set again keeps its place). */
  set(key: K, value: V): void {
    if (this.map.has(key)) {
      this.map.set(key, value);
      return;
    }
    while (this.map.size >= this.capacity && this.count > 0) {
      const old = this.ring[this.head];
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
      if (old !== undefined) this.map.delete(old);
    }
    if (this.count === this.ring.length) {
      // Keys deleted from the map still hold ring slots: drop the oldest slot.
      const old = this.ring[this.head];
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
      if (old !== undefined && old !== key) this.map.delete(old);
    }
    this.ring[(this.head + this.count) % this.ring.length] = key;
    this.count++;
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
