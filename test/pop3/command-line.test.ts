// The POP3 command line parser: examples, hostile input, and properties (random bytes never throw;
// any split of a pipelined stream, framed by the shared framer, parses the same).
import test from 'ava';
import fc from 'fast-check';
import { LineFramer } from '../../core/line-framer.js';
import { parseCommandLine } from '../../services/pop3/command-line.js';

const parse = (s: string) => parseCommandLine(Buffer.from(s, 'utf8'));

test('keyword is case-insensitive and arguments are split', (t) => {
  const r = parse('list 3');
  t.true(r.ok);
  if (!r.ok) return;
  t.is(r.name, 'LIST');
  t.deepEqual(r.args, ['3']);
  t.is(r.normalized, 'LIST 3');
});

test('runs of spaces and trailing spaces are tolerated', (t) => {
  const r = parse('TOP  1   10  ');
  t.true(r.ok);
  if (!r.ok) return;
  t.deepEqual(r.args, ['1', '10']);
  t.is(r.normalized, 'TOP 1 10');
});

test('PASS keeps the raw rest of the line, spaces included', (t) => {
  const r = parse('PASS my secret  pass ');
  t.true(r.ok);
  if (!r.ok) return;
  t.is(r.rest, 'my secret  pass ');
});

test('UTF-8 passwords are decoded', (t) => {
  const r = parse('PASS pässwörd');
  t.true(r.ok);
  if (r.ok) t.is(r.rest, 'pässwörd');
});

test('empty lines and lines of spaces are refused', (t) => {
  for (const s of ['', ' ', '    ']) {
    const r = parse(s);
    t.false(r.ok);
    if (!r.ok) t.is(r.code, 'EMPTY');
  }
});

test('control characters are refused, never passed on', (t) => {
  for (const s of ['STAT\0', 'RETR 1\r', 'US\x01ER a', 'LIST\x7f', 'PASS a\tb']) {
    const r = parseCommandLine(Buffer.from(s, 'latin1'));
    t.false(r.ok, JSON.stringify(s));
    if (!r.ok) t.is(r.code, 'CONTROL_CHARACTER');
  }
});

test('invalid UTF-8 is refused', (t) => {
  const r = parseCommandLine(Buffer.from([0x50, 0x41, 0x53, 0x53, 0x20, 0xc3, 0x28]));
  t.false(r.ok);
  if (!r.ok) t.is(r.code, 'NOT_UTF8');
});

test('an over-long or non-ASCII keyword is refused', (t) => {
  t.false(parse('X'.repeat(17)).ok);
  const r = parse('RÉTR 1');
  t.false(r.ok);
  if (!r.ok) t.is(r.code, 'BAD_KEYWORD');
});

test('property: random bytes never throw and give a result or a coded error', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const r = parseCommandLine(bytes);
      if (r.ok) {
        // A parsed keyword is printable ASCII and no argument is empty or contains a space.
        return /^[\x21-\x7e]+$/.test(r.name) && r.args.every((a) => a.length > 0 && !a.includes(' '));
      }
      return ['EMPTY', 'CONTROL_CHARACTER', 'BAD_KEYWORD', 'NOT_UTF8'].includes(r.code) && r.reason.length > 0;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

const keyword = fc.constantFrom('USER', 'pass', 'Apop', 'AUTH', 'CAPA', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'QUIT');
const word = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abcXYZ0189+/=.@-_é'.split('')) });
const command = fc.tuple(keyword, fc.array(word, { maxLength: 3 })).map(([k, a]) => [k, ...a].join(' '));

test('property: a normalized line parses to itself', (t) => {
  fc.assert(
    fc.property(command, (line) => {
      const a = parse(line);
      if (!a.ok) return false;
      const b = parse(a.normalized);
      return b.ok && b.normalized === a.normalized && b.name === a.name && b.args.join('\u0001') === a.args.join('\u0001');
    }),
  );
  t.pass();
});

test('property: any split of a pipelined command stream parses the same', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), async (lines, cuts) => {
      const wire = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8');
      const framer = new LineFramer({ maxLineLength: 512 });
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((x, y) => x - y);
      let prev = 0;
      for (const p of [...points, wire.length]) {
        framer.push(wire.subarray(prev, p));
        prev = p;
      }
      framer.end();
      const got: string[] = [];
      for (;;) {
        const line = await framer.readLine();
        if (line === null) break;
        const r = parseCommandLine(line);
        got.push(r.ok ? r.normalized : `ERR ${r.code}`);
      }
      const want = lines.map((l) => {
        const r = parse(l);
        return r.ok ? r.normalized : `ERR ${r.code}`;
      });
      return JSON.stringify(got) === JSON.stringify(want);
    }),
  );
  t.pass();
});
