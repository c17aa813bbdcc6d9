// The IMAP command grammar and reader: unit cases, hostile input, and property tests (any chunking of
// the wire parses the same; random input never throws anything but ParseError).
import test from 'ava';
import fc from 'fast-check';
import { LineFramer } from '../../core/line-framer.js';
import { parseCommand, ParseError, type Token } from '../../services/imap/command-parser.js';
import { readCommand, type ReadResult } from '../../services/imap/command-reader.js';
import { decodeMutf7, encodeMutf7 } from '../../services/imap/mutf7.js';
import { formatSet, parseSequenceSet, seqNumbers, uidIndexes } from '../../services/imap/sequence-set.js';

const p = (s: string) => parseCommand(Buffer.from(s, 'latin1'));
const show = (t: Token): unknown => (t.t === 'list' ? t.v.map(show) : t.t === 'atom' ? t.v : `"${t.v.toString('latin1')}"`);

test('tag, name, atoms, quoted strings and nested lists', (t) => {
  const c = p('a1 LOGIN "ali\\"ce" pass\\word');
  t.is(c.tag, 'a1');
  t.is(c.name, 'LOGIN');
  t.deepEqual(c.args.map(show), ['"ali"ce"', 'pass\\word']);
  const f = p('x FETCH 1:*,3 (FLAGS BODY.PEEK[HEADER.FIELDS (From "To")]<0.100> (a (b)))');
  t.deepEqual(f.args.map(show), ['1:*,3', ['FLAGS', 'BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>', ['a', ['b']]]]);
});

test('UID commands and case-insensitive names', (t) => {
  t.is(p('t uid fetch 1 FLAGS').name, 'UID FETCH');
  t.is(p('t Noop').name, 'NOOP');
});

test('literals, synchronising and LITERAL+, are taken byte for byte', (t) => {
  const c = p('a LOGIN {5}\r\nal)ce {3+}\r\n"x\\');
  t.deepEqual(c.args.map(show), ['"al)ce"', '""x\\"']);
  t.true(c.args[0].t === 'string' && c.args[0].literal);
});

test('bad syntax is a ParseError with the tag when known', (t) => {
  for (const bad of ['', ' NOOP', 'a', 'a (', 'a LIST "unterminated', 'a X (a b', 'a X  b', 'a X {3}\r\nab', 'a X "\\q"', 'a X )', 'a X {a}']) {
    const err = t.throws(() => p(bad), { instanceOf: ParseError }, bad);
    if (bad.startsWith('a ') && bad.length > 3) t.is(err.tag, 'a', bad);
  }
});

test('list nesting is bounded', (t) => {
  t.throws(() => p(`a X ${'('.repeat(100)}${')'.repeat(100)}`), { instanceOf: ParseError, message: /nested/ });
});

test('modified UTF-7 round trips and known encodings', (t) => {
  t.is(encodeMutf7('Entwürfe'), 'Entw&APw-rfe');
  t.is(encodeMutf7('A&B'), 'A&-B');
  t.is(encodeMutf7('日本語'), '&ZeVnLIqe-');
  t.is(decodeMutf7('&ZeVnLIqe-'), '日本語');
  t.is(decodeMutf7('&Jjo-!'), '☺!');
  t.is(decodeMutf7('bad&'), undefined);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
      const clean = s.replace(/[\ud800-\udfff]/g, '');
      return decodeMutf7(encodeMutf7(clean)) === clean;
    }),
  );
});

test('sequence sets: ranges either way, *, lists', (t) => {
  const s = parseSequenceSet('4:2,7,9:*')!;
  t.deepEqual(seqNumbers(s, 10), [2, 3, 4, 7, 9, 10]);
  t.deepEqual(uidIndexes(parseSequenceSet('100:*')!, [3, 5, 8]), [2], 'N:* includes the last UID even when N is above it');
  t.deepEqual(uidIndexes(parseSequenceSet('4:6')!, [3, 5, 8]), [1]);
  for (const bad of ['', '0', '1:0', 'a', '1,,2', '1:2:3', '-1', '4294967296']) t.is(parseSequenceSet(bad), undefined, bad);
  t.is(formatSet([1, 2, 3, 5, 7, 8]), '1:3,5,7:8');
});

// ---- the reader over the framer ----

async function readAll(chunks: Buffer[], authed = true): Promise<{ results: ReadResult[]; continuations: number }> {
  const framer = new LineFramer({ maxLineLength: 65536 });
  let continuations = 0;
  const results: ReadResult[] = [];
  const reading = (async () => {
    for (;;) {
      const r = await readCommand({
        literalLimit: () => (authed ? 1_000_000 : 100),
        continuation: () => continuations++,
        firstLine: () => framer.readLine(65536),
        nextLine: (max) => framer.readLine(max),
        octets: (n) => framer.readBytes(n),
        chunk: (max) => framer.readChunk(max),
      });
      if (r.kind === 'eof') return;
      results.push(r);
    }
  })();
  for (const c of chunks) {
    framer.push(c);
    await new Promise((r) => setImmediate(r));
  }
  framer.end();
  await reading;
  return { results, continuations };
}

function summary(results: ReadResult[]): string[] {
  return results.map((r) => {
    if (r.kind !== 'command') return `refused ${r.kind === 'refused' ? r.response : ''}`;
    try {
      const c = parseCommand(r.raw);
      return JSON.stringify([c.tag, c.name, c.args.map(show)]);
    } catch (err) {
      return `parse error ${(err as Error).message}`;
    }
  });
}

test('the reader asks for a synchronising literal and not for LITERAL+', async (t) => {
  const wire = Buffer.from('a LOGIN {5}\r\nalice {3}\r\npw!\r\nb APPEND INBOX {4+}\r\nabcd\r\n');
  const { results, continuations } = await readAll([wire]);
  t.is(continuations, 2);
  t.deepEqual(summary(results), [JSON.stringify(['a', 'LOGIN', ['"alice"', '"pw!"']]), JSON.stringify(['b', 'APPEND', ['INBOX', '"abcd"']])]);
});

test('a literal over the limit is refused before it is sent; a LITERAL+ one is read and dropped', async (t) => {
  const { results, continuations } = await readAll(
    [Buffer.from('a LOGIN {5000}\r\nb NOOP\r\nc LOGIN {200+}\r\n' + 'x'.repeat(200) + ' y\r\nd NOOP\r\n')],
    false,
  );
  t.is(continuations, 0);
  const s = summary(results);
  t.regex(s[0], /refused NO \[TOOBIG\]/);
  t.is(s[1], JSON.stringify(['b', 'NOOP', []]));
  t.regex(s[2], /refused NO \[TOOBIG\]/);
  t.is(s[3], JSON.stringify(['d', 'NOOP', []]));
});

const sampleCommands = [
  'a1 CAPABILITY\r\n',
  'a2 LOGIN {5}\r\nalice "p w"\r\n',
  'a3 SELECT "INBOX"\r\n',
  'a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.20>)\r\n',
  'a5 APPEND Drafts (\\Seen) "01-Jan-2024 10:00:00 +0000" {12+}\r\nline1\r\nline2\r\n',
  'a6 UID SEARCH CHARSET UTF-8 OR (FROM bob) NOT SUBJECT {4}\r\nabcd\r\n',
  'a7 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n',
];

test('property: any chunking of the wire reads and parses the same', async (t) => {
  const wire = Buffer.from(sampleCommands.join(''));
  const expected = summary((await readAll([wire])).results);
  t.is(expected.length, sampleCommands.length);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 12 }), async (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const c of points) {
        chunks.push(wire.subarray(prev, c));
        prev = c;
      }
      chunks.push(wire.subarray(prev));
      const got = summary((await readAll(chunks)).results);
      return JSON.stringify(got) === JSON.stringify(expected);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('property: random input never throws anything but ParseError', (t) => {
  const alphabet = fc.constantFrom(...'a1 ()[]{}<>"\\*%:,.+-\r\nUIDFETCHBODY'.split(''), '{3}\r\n', '{0+}\r\n', 'BODY[', '\u00e9', '\u0000');
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 80 }), fc.uint8Array({ maxLength: 40 }), (parts, bytes) => {
      for (const input of [Buffer.from(parts.join(''), 'latin1'), Buffer.from(bytes)]) {
        try {
          parseCommand(input);
        } catch (err) {
          if (!(err instanceof ParseError)) return false;
        }
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: UID set resolution agrees with the definition', (t) => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 40 }).map((a) => a.sort((x, y) => x - y)),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 220 }), fc.integer({ min: 0, max: 220 })), { minLength: 1, maxLength: 4 }),
      (uids, pairs) => {
        const text = pairs.map(([a, b]) => `${a === 0 ? '*' : a}:${b === 0 ? '*' : b}`).join(',');
        const set = parseSequenceSet(text)!;
        const max = uids[uids.length - 1] ?? 0;
        const want = uids
          .map((u, i) => [u, i] as const)
          .filter(([u]) =>
            pairs.some(([a, b]) => {
              const x = a === 0 ? max : a;
              const y = b === 0 ? max : b;
              return u >= Math.min(x, y) && u <= Math.max(x, y);
            }),
          )
          .map(([, i]) => i);
        return JSON.stringify(uidIndexes(set, uids)) === JSON.stringify(want);
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});
