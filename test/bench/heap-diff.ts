// Compares V8 heap snapshots of one process (the soak's --heap-snapshots): `node
// --max-old-space-size=8000 build/test/bench/heap-diff.js A.heapsnapshot B.heapsnapshot [C...]`.
// Prints, per kind of object (constructor name, or "(string)", "(closure)", "(array)"...), the count
// and self size in each snapshot, the biggest changes first; then, for the kinds that grew most, where
// the objects that are new in the last snapshot (their ids were not in the first one: V8 keeps an
// object's id for the life of the process) hang from: the chain of retainers up to the first named
// owner, counted. A bench helper, not part of labnet.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Parsed {
  raw: Snapshot;
  nf: number;
  ef: number;
  type: (n: number) => string;
  name: (n: number) => string;
  id: (n: number) => number;
  self: (n: number) => number;
  kind: (n: number) => string;
  firstEdge: Int32Array;
}

function parse(path: string): Parsed {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const m = raw.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [fType, fName, fId, fSelf, fEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => m.node_fields.indexOf(f));
  const types = m.node_types[0];
  const nodeCount = raw.nodes.length / nf;
  const firstEdge = new Int32Array(nodeCount + 1);
  for (let i = 0, e = 0; i < nodeCount; i++) {
    firstEdge[i] = e;
    e += raw.nodes[i * nf + fEdges] * ef;
    firstEdge[i + 1] = e;
  }
  const type = (n: number): string => types[raw.nodes[n * nf + fType]];
  const name = (n: number): string => raw.strings[raw.nodes[n * nf + fName]];
  const kind = (n: number): string => {
    const t = type(n);
    if (t === 'object' || t === 'native') return name(n);
    if (t === 'closure') return `(closure ${name(n) || 'anonymous'})`;
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return '(string)';
    if (t === 'array') return `(array ${name(n)})`;
    if (t === 'hidden' || t === 'code') return `(${t} ${name(n).slice(0, 40)})`;
    return `(${t})`;
  };
  return {
    raw,
    nf,
    ef,
    type,
    name,
    kind,
    id: (n) => raw.nodes[n * nf + fId],
    self: (n) => raw.nodes[n * nf + fSelf],
    firstEdge,
  };
}

/** Each node's first strong retainer (a hidden or weak edge only when there is nothing else), and that edge. */
function retainers(p: Parsed): { retainer: Int32Array; retainerEdge: Int32Array } {
  const n = p.raw.nodes.length / p.nf;
  const edgeTypes = p.raw.snapshot.meta.edge_types[0];
  const [eType, eTo] = ['type', 'to_node'].map((f) => p.raw.snapshot.meta.edge_fields.indexOf(f));
  const retainer = new Int32Array(n).fill(-1);
  const retainerEdge = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++)
    for (let e = p.firstEdge[i]; e < p.firstEdge[i + 1]; e += p.ef) {
      const t = edgeTypes[p.raw.edges[e + eType]];
      if (t === 'weak' || t === 'shortcut') continue;
      const to = p.raw.edges[e + eTo] / p.nf;
      if (retainer[to] < 0 || p.type(retainer[to]) === 'hidden') {
        retainer[to] = i;
        retainerEdge[to] = e;
      }
    }
  return { retainer, retainerEdge };
}

const GENERIC = new Set(['Object', 'Array', 'Map', 'Set', 'system / Context', 'Promise', 'Generator']);

/** Whether a node names an owner: an object of a class of ours (not a plain Object, Array, Map...). */
function isOwner(p: Parsed, i: number): boolean {
  return p.type(i) === 'object' && !GENERIC.has(p.name(i)) && !p.name(i).startsWith('system /');
}

/**
 * Self sizes attributed to the nearest owner up the first-retainer chain (a rough retained size per
 * class, without a dominator tree: an object shared by two owners counts for the first one found).
 */
function owners(p: Parsed): Map<string, number> {
  const { retainer } = retainers(p);
  const n = p.raw.nodes.length / p.nf;
  const owner = new Int32Array(n).fill(-2);
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const path: number[] = [];
    let j = i;
    let found = -1;
    for (let d = 0; d < 60 && j >= 0; d++) {
      if (owner[j] !== -2) {
        found = owner[j];
        break;
      }
      if (isOwner(p, j) && j !== i) {
        found = j;
        break;
      }
      path.push(j);
      j = retainer[j];
    }
    for (const k of path) owner[k] = found;
    const key = found >= 0 ? p.name(found) : '(no owner found)';
    out.set(key, (out.get(key) ?? 0) + p.self(i));
  }
  return out;
}

function summary(p: Parsed): Map<string, { count: number; size: number }> {
  const out = new Map<string, { count: number; size: number }>();
  const n = p.raw.nodes.length / p.nf;
  for (let i = 0; i < n; i++) {
    const k = p.kind(i);
    const e = out.get(k) ?? { count: 0, size: 0 };
    e.count++;
    e.size += p.self(i);
    out.set(k, e);
  }
  return out;
}

const files = process.argv.slice(2);
if (files.length < 2) {
  console.error('usage: heap-diff.js A.heapsnapshot B.heapsnapshot [more...]');
  process.exit(2);
}
const firstIds = new Set<number>();
const sums: Array<Map<string, { count: number; size: number }>> = [];
const byOwner: Array<Map<string, number>> = [];
let last: Parsed | undefined;
for (const [k, f] of files.entries()) {
  const p = parse(f);
  sums.push(summary(p));
  byOwner.push(owners(p));
  if (k === 0) for (let i = 0; i < p.raw.nodes.length / p.nf; i++) firstIds.add(p.id(i));
  if (k === files.length - 1) last = p;
  const total = [...sums[k].values()].reduce((a, v) => a + v.size, 0);
  console.log(`${f}: ${p.raw.nodes.length / p.nf} nodes, ${(total / 1048576).toFixed(1)} MB self size`);
}
const kinds = new Set(sums.flatMap((s) => [...s.keys()]));
const rows = [...kinds].map((k) => ({ k, v: sums.map((s) => s.get(k) ?? { count: 0, size: 0 }) }));
const delta = (r: (typeof rows)[number]): number => r.v[r.v.length - 1].size - r.v[0].size;
rows.sort((a, b) => Math.abs(delta(b)) - Math.abs(delta(a)));
console.log(`\n${'kind'.padEnd(50)} ${files.map((_, i) => `count#${i + 1}`.padStart(10) + `KB#${i + 1}`.padStart(10)).join('')}   dKB`);
for (const r of rows.slice(0, 40))
  console.log(
    `${r.k.slice(0, 50).padEnd(50)} ${r.v.map((v) => String(v.count).padStart(10) + (v.size / 1024).toFixed(0).padStart(10)).join('')}   ${(delta(r) / 1024).toFixed(0)}`,
  );

const ownerKeys = [...new Set(byOwner.flatMap((m) => [...m.keys()]))];
const ownerDelta = (k: string): number => (byOwner[byOwner.length - 1].get(k) ?? 0) - (byOwner[0].get(k) ?? 0);
ownerKeys.sort((a, b) => Math.abs(ownerDelta(b)) - Math.abs(ownerDelta(a)));
console.log(`\n${'held under (nearest owning class)'.padEnd(50)} ${files.map((_, i) => `KB#${i + 1}`.padStart(10)).join('')}   dKB`);
for (const k of ownerKeys.slice(0, 30))
  console.log(
    `${k.slice(0, 50).padEnd(50)} ${byOwner.map((m) => ((m.get(k) ?? 0) / 1024).toFixed(0).padStart(10)).join('')}   ${(ownerDelta(k) / 1024).toFixed(0)}`,
  );

// Objects new in the last snapshot, by kind, and their retainer chains.
const p = last!;
const n = p.raw.nodes.length / p.nf;
const edgeTypes = p.raw.snapshot.meta.edge_types[0];
const [eType, eName] = ['type', 'name_or_index'].map((f) => p.raw.snapshot.meta.edge_fields.indexOf(f));
const { retainer, retainerEdge } = retainers(p);
const edgeLabel = (e: number): string => {
  const t = edgeTypes[p.raw.edges[e + eType]];
  const v = p.raw.edges[e + eName];
  return t === 'element' || t === 'hidden' ? `[${t === 'element' ? 'i' : 'h'}]` : `.${p.raw.strings[v]}`;
};
const fresh = new Map<string, { count: number; size: number; chains: Map<string, number> }>();
for (let i = 0; i < n; i++) {
  if (firstIds.has(p.id(i))) continue;
  const k = p.kind(i);
  const f = fresh.get(k) ?? { count: 0, size: 0, chains: new Map() };
  f.count++;
  f.size += p.self(i);
  let chain = '';
  for (let j = i, d = 0; d < 8 && retainer[j] >= 0; d++) {
    chain = `${p.kind(retainer[j]).slice(0, 40)}${edgeLabel(retainerEdge[j])} <- ${chain}`;
    j = retainer[j];
    const t = p.type(j);
    if ((t === 'object' && !['Object', 'Array', 'Map', 'Set', 'system / Context'].includes(p.name(j))) || t === 'synthetic') break;
  }
  f.chains.set(chain, (f.chains.get(chain) ?? 0) + 1);
  fresh.set(k, f);
}
console.log('\nnew in the last snapshot (not in the first), by kind, with their most common retainer chains:');
for (const [k, f] of [...fresh].sort((a, b) => b[1].size - a[1].size).slice(0, 15)) {
  console.log(`${k.slice(0, 60)}: ${f.count} objects, ${(f.size / 1024).toFixed(0)} KB`);
  for (const [c, cnt] of [...f.chains].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    ${String(cnt).padStart(7)}  ${c}`);
}
