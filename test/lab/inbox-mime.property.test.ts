// The web inbox's MIME tree reader (core/lab/inbox-mime.ts): for generated multipart trees it gives
// back the structure that was written (types, nesting, encodings, filenames, body sizes), and for any
// input at all it returns within its bounds and never throws.
import test from 'ava';
import fc from 'fast-check';
import { MIME_TREE_LIMITS, mimeTree, parseFieldParams, type MimeNode } from '../../core/lab/inbox-mime.js';

interface Gen {
  type: string;
  encoding?: string;
  filename?: string;
  body?: string;
  children?: Gen[];
}

let counter = 0;

/** Writes a part (its header and body) as a sender would. */
function write(g: Gen): string {
  const head: string[] = [];
  if (g.children) {
    const boundary = `b${counter++}_${'x'.repeat(counter % 7)}`;
    head.push(`Content-Type: ${g.type}; boundary="${boundary}"`);
    const parts = g.children.map((c) => `--${boundary}\r\n${write(c)}\r\n`).join('');
    return `${head.join('\r\n')}\r\n\r\npreamble\r\n${parts}--${boundary}--\r\nepilogue`;
  }
  head.push(`Content-Type: ${g.type}; charset=utf-8`);
  if (g.encoding) head.push(`Content-Transfer-Encoding: ${g.encoding}`);
  if (g.filename) head.push(`Content-Disposition: attachment; filename="${g.filename}"`);
  return `${head.join('\r\n')}\r\n\r\n${g.body ?? ''}`;
}

function shape(n: MimeNode): unknown {
  return { type: n.type, encoding: n.encoding, filename: n.filename, children: n.children.map(shape) };
}

function expected(g: Gen): unknown {
  return { type: g.type, encoding: g.children ? '7bit' : (g.encoding ?? '7bit'), filename: g.filename ?? null, children: (g.children ?? []).map(expected) };
}

const leaf: fc.Arbitrary<Gen> = fc.record(
  {
    type: fc.constantFrom('text/plain', 'text/html', 'image/png', 'application/pdf'),
    encoding: fc.constantFrom('base64', 'quoted-printable', '8bit'),
    filename: fc.stringMatching(/^[a-z]{1,8}\.[a-z]{3}$/),
    // Bodies may hold anything but a line that starts with "--" (a sender picks a boundary that does not occur).
    body: fc.array(fc.stringMatching(/^[A-Za-z0-9 =+/.]{0,40}$/), { maxLength: 6 }).map((ls) => ls.join('\r\n')),
  },
  { requiredKeys: ['type'] },
);

const tree: fc.Arbitrary<Gen> = fc.letrec<{ node: Gen }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      type: fc.constantFrom('multipart/mixed', 'multipart/alternative', 'multipart/related'),
      children: fc.array(tie('node'), { minLength: 1, maxLength: 4 }),
    }),
  ),
})).node;

test('generated multipart trees read back as written', (t) => {
  fc.assert(
    fc.property(tree, (g) => {
      const raw = Buffer.from(`Subject: x\r\nMIME-Version: 1.0\r\n${write(g)}`, 'latin1');
      const got = mimeTree(raw);
      t.deepEqual(shape(got), expected(g));
      return true;
    }),
    { numRuns: 300 },
  );
});

test('leaf body sizes are the octets between the header and the next delimiter', (t) => {
  const raw = Buffer.from(
    'Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zz\r\n\r\nbye\r\n--zz--\r\n',
    'latin1',
  );
  const got = mimeTree(raw);
  t.deepEqual(
    got.children.map((c) => [c.type, c.size]),
    [
      ['text/plain', 5],
      ['text/plain', 3],
    ],
  );
  t.is(got.note, undefined);
});

test('any input: no throw, bounded parts and depth', (t) => {
  const count = (n: MimeNode, depth = 0): { parts: number; depth: number } =>
    n.children.reduce(
      (a, c) => {
        const r = count(c, depth + 1);
        return { parts: a.parts + r.parts, depth: Math.max(a.depth, r.depth) };
      },
      { parts: 1, depth },
    );
  const nested = (levels: number): string =>
    levels === 0
      ? 'Content-Type: text/plain\r\n\r\nx'
      : `Content-Type: multipart/mixed; boundary=l${levels}\r\n\r\n--l${levels}\r\n${nested(levels - 1)}\r\n--l${levels}--`;
  const deep = count(mimeTree(Buffer.from(nested(100))));
  t.true(deep.depth <= MIME_TREE_LIMITS.maxDepth);
  const many = `Content-Type: multipart/mixed; boundary=m\r\n\r\n${'--m\r\n\r\nx\r\n'.repeat(2000)}--m--`;
  t.true(count(mimeTree(Buffer.from(many))).parts <= MIME_TREE_LIMITS.maxParts + 1);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom('', 'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n'), (bytes, prefix) => {
      const r = count(mimeTree(Buffer.concat([Buffer.from(prefix), Buffer.from(bytes)])));
      return r.parts <= MIME_TREE_LIMITS.maxParts + 1 && r.depth <= MIME_TREE_LIMITS.maxDepth;
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 600 }), (s) => {
      const p = parseFieldParams(s);
      return Object.keys(p.params).length <= MIME_TREE_LIMITS.maxParams;
    }),
  );
  t.deepEqual(parseFieldParams('Text/Plain; Charset="utf-8"; name*=UTF-8\'\'%C3%BC.txt'), { value: 'text/plain', params: { charset: 'utf-8', name: 'ü.txt' } });
});
