// THREAD=REFERENCES (RFC 5256 section 4): messages linked by Message-ID, References and In-Reply-To
// into a forest of containers (a container without a message is a "dummy" for a referenced message
// the mailbox lacks), dummies pruned, roots grouped by base subject, siblings ordered by sent date.
// Every loop is bounded by the number of message-ids seen (each message contributes a bounded list).
import { baseSubject, sentDate, type SortInput } from './sort.js';

/** References kept per message (the last ones count: the nearest ancestors). */
const MAX_REFS = 100;
/**
 * Deepest nesting built: a link that would put a container deeper is not made (the message starts
 * its own thread), so a hostile chain of replies cannot make the recursive steps exhaust the stack.
 */
const MAX_DEPTH = 300;

function depth(c: Container): number {
  let n = 0;
  for (let p = c.parent; p !== undefined && n <= MAX_DEPTH; p = p.parent) n++;
  return n;
}

/** The height of the subtree under c (bounded: trees are built no deeper than MAX_DEPTH). */
function height(c: Container): number {
  let h = 0;
  for (const k of c.children) h = Math.max(h, height(k) + 1);
  return h;
}

interface Container {
  msg?: { input: SortInput; date: number; subject: string; reply: boolean };
  parent?: Container;
  children: Container[];
}

function ids(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return (raw.match(/<[^<>\s]+>/g) ?? []).slice(-MAX_REFS).map((s) => s.toLowerCase());
}

function isAncestor(a: Container, b: Container): boolean {
  // True when a is b or above it.
  for (let c: Container | undefined = b; c !== undefined; c = c.parent) if (c === a) return true;
  return false;
}

function unlink(c: Container): void {
  const p = c.parent;
  if (!p) return;
  p.children = p.children.filter((x) => x !== c);
  c.parent = undefined;
}

function link(parent: Container, child: Container): void {
  unlink(child);
  child.parent = parent;
  parent.children.push(child);
}

/** The date a container sorts by: its message's, else its first child's (section 4, step 4). */
function dateOf(c: Container): [number, number] {
  if (c.msg) return [c.msg.date, c.msg.input.seq];
  return c.children.length > 0 ? dateOf(c.children[0]) : [0, 0];
}

function sortTree(list: Container[]): void {
  for (const c of list) sortTree(c.children);
  list.sort((a, b) => {
    const [da, sa] = dateOf(a);
    const [db, sb] = dateOf(b);
    return da - db || sa - sb;
  });
}

/** Step 3: dummies without children go; a dummy's children move up, except at the root when there are several. */
function prune(list: Container[], root: boolean): Container[] {
  const out: Container[] = [];
  for (const c of list) {
    c.children = prune(c.children, false);
    for (const k of c.children) k.parent = c;
    if (c.msg) out.push(c);
    else if (c.children.length === 0) continue;
    else if (!root || c.children.length === 1) {
      for (const k of c.children) {
        k.parent = undefined;
        out.push(k);
      }
    } else out.push(c);
  }
  return out;
}

function subjectOf(c: Container): { subject: string; reply: boolean } | undefined {
  const m = c.msg ?? c.children[0]?.msg;
  return m ? { subject: m.subject, reply: m.reply } : undefined;
}

function render(c: Container, num: (m: SortInput) => number): string {
  // thread-members: a chain of single children is written flat; several children nest.
  const parts: string[] = [];
  let cur: Container | undefined = c;
  while (cur) {
    if (cur.msg) parts.push(String(num(cur.msg.input)));
    if (cur.children.length === 1 && cur.msg) cur = cur.children[0];
    else {
      const kids = cur.children;
      if (kids.length > 0) parts.push(kids.map((k) => `(${render(k, num)})`).join(''));
      cur = undefined;
    }
  }
  return parts.join(' ');
}

/** The thread-list text, e.g. "(3 2)(1)", for `msgs` (the messages the search selected). */
export function referencesThreads(msgs: readonly SortInput[], num: (m: SortInput) => number): string {
  const table = new Map<string, Container>();
  const get = (id: string): Container => {
    let c = table.get(id);
    if (!c) table.set(id, (c = { children: [] }));
    return c;
  };
  const all: Container[] = [];
  for (const m of msgs) {
    const rawSubject = m.header('subject') ?? '';
    const msg = {
      input: m,
      date: sentDate(m.header('date'), m.internalDate),
      subject: baseSubject(rawSubject),
      reply: /^\s*(re|fwd?)\s*(\[[^\]]*\]\s*)*:/i.test(rawSubject),
    };
    // Step 1A: a missing or duplicate Message-ID makes a unique container.
    const own = ids(m.header('message-id'))[0];
    let c: Container;
    if (own !== undefined && table.has(own) && table.get(own)!.msg === undefined) c = table.get(own)!;
    else {
      c = { children: [] };
      if (own !== undefined && !table.has(own)) table.set(own, c);
    }
    c.msg = msg;
    all.push(c);
    // Step 1B: link the references in order, never making a loop and never re-parenting.
    let refs = ids(m.header('references'));
    if (refs.length === 0) refs = ids(m.header('in-reply-to')).slice(0, 1);
    let prev: Container | undefined;
    for (const r of refs) {
      const rc = get(r);
      if (prev && rc !== prev && rc.parent === undefined && !isAncestor(rc, prev) && depth(prev) + 1 + height(rc) <= MAX_DEPTH) link(prev, rc);
      prev = rc;
    }
    // Step 1C: the message's parent is the last reference (the old link is broken first).
    unlink(c);
    if (prev && prev !== c && !isAncestor(c, prev) && depth(prev) + 1 + height(c) <= MAX_DEPTH) link(prev, c);
  }
  // Step 2: the root set.
  const roots = new Set<Container>();
  for (const c of [...table.values(), ...all]) {
    let r = c;
    while (r.parent) r = r.parent;
    roots.add(r);
  }
  let list = prune([...roots], true);
  sortTree(list);
  // Step 5: roots with the same base subject are gathered.
  const bySubject = new Map<string, Container>();
  for (const c of list) {
    const s = subjectOf(c);
    if (!s || s.subject === '') continue;
    const old = bySubject.get(s.subject);
    if (!old || (old.msg && !c.msg) || (subjectOf(old)!.reply && !s.reply && c.msg && old.msg)) bySubject.set(s.subject, c);
  }
  const merged: Container[] = [];
  for (const c of list) {
    const s = subjectOf(c);
    const into = s && s.subject !== '' ? bySubject.get(s.subject) : undefined;
    if (!into || into === c) {
      merged.push(c);
      continue;
    }
    if (!into.msg && !c.msg) for (const k of [...c.children]) link(into, k);
    else if (!into.msg && c.msg) link(into, c);
    else if (c.msg && into.msg && s!.reply && !subjectOf(into)!.reply) link(into, c);
    else {
      // Neither is a reply of the other: a new dummy holds both, where `into` stood.
      const d: Container = { children: [] };
      const at = merged.indexOf(into);
      link(d, into);
      link(d, c);
      if (at >= 0) merged[at] = d;
      else bySubject.set(s!.subject, d);
      bySubject.set(s!.subject, d);
    }
  }
  list = merged;
  sortTree(list);
  return list.map((c) => `(${render(c, num)})`).join('');
}
