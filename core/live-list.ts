// The set of live connections (or sessions) a long-lived server keeps, as an intrusive doubly linked
// list: each member carries its own links, so adding and removing allocates nothing and leaves no
// table behind.
//
// Why not a Set: a server's Set lives in V8's old generation while its members are young. Under
// connection churn the Set's hash table is rebuilt every few dozen add/delete pairs, and the tables it
// leaves behind still point at members that have since closed. A young-generation GC treats every
// pointer from an old object as live, so those members (and all a session hangs on them) survive it,
// are copied to the old generation and wait for a full GC there. Measured on `Connection: close`
// traffic: about 1.2 MB survived each young GC with Sets, about 0.1 MB with this list.

export interface LiveLinks<T> {
  liveNext: T | undefined;
  livePrev: T | undefined;
  liveIn: object | undefined;
}

export class LiveList<T extends LiveLinks<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  size = 0;

  add(item: T): void {
    if (item.liveIn !== undefined) return;
    item.liveIn = this;
    item.livePrev = this.tail;
    item.liveNext = undefined;
    if (this.tail === undefined) this.head = item;
    else this.tail.liveNext = item;
    this.tail = item;
    this.size++;
  }

  has(item: T): boolean {
    return item.liveIn === this;
  }

  /** The member added longest ago (and not removed since). */
  get first(): T | undefined {
    return this.head;
  }

  delete(item: T): boolean {
    if (item.liveIn !== this) return false;
    const { livePrev: prev, liveNext: next } = item;
    if (prev === undefined) this.head = next;
    else prev.liveNext = next;
    if (next === undefined) this.tail = prev;
    else next.livePrev = prev;
    item.livePrev = undefined;
    item.liveNext = undefined;
    item.liveIn = undefined;
    this.size--;
    return true;
  }

  /** The members now, as an array: safe to close or remove members while going through it. */
  toArray(): T[] {
    const out: T[] = [];
    for (let x = this.head; x !== undefined; x = x.liveNext) out.push(x);
    return out;
  }

  /** Calls `fn` for each member; `fn` may remove the member it is given (not others). */
  forEach(fn: (item: T) => void): void {
    let x = this.head;
    while (x !== undefined) {
      const next: T | undefined = x.liveNext;
      fn(x);
      x = next;
    }
  }
}
