// Dot-stuffing of multi-line responses (RFC 1939 section 3) and TOP's cut, chunk by chunk.
import test from 'ava';
import fc from 'fast-check';
import { DotStuffer, stuffWhole } from '../../services/pop3/dot-stuffing.js';
import { TopFilter } from '../../services/pop3/message-top.js';

/** What a client does: read lines to "." CRLF, removing one leading dot. Returns undefined if no end. */
function unstuff(wire: Buffer): { payload: string; rest: string } | undefined {
  const s = wire.toString('latin1');
  let i = 0;
  let out = '';
  for (;;) {
    const j = s.indexOf('\r\n', i);
    if (j < 0) return undefined;
    const line = s.slice(i, j);
    i = j + 2;
    if (line === '.') return { payload: out, rest: s.slice(i) };
    out += (line.startsWith('.') ? line.slice(1) : line) + '\r\n';
  }
}

function chunked(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  return out;
}

test('lines starting with a dot get one more dot', (t) => {
  const wire = stuffWhole(Buffer.from('.hidden\r\nmid.dle\r\n.\r\n..two\r\n'), Buffer.alloc(0));
  t.is(wire.toString(), '..hidden\r\nmid.dle\r\n..\r\n...two\r\n.\r\n');
});

test('a payload without a final CRLF gets one before the terminator', (t) => {
  t.is(stuffWhole(Buffer.from('abc'), Buffer.from('+OK\r\n')).toString(), '+OK\r\nabc\r\n.\r\n');
  t.is(stuffWhole(Buffer.alloc(0), Buffer.from('+OK\r\n')).toString(), '+OK\r\n.\r\n');
});

test('nothing to stuff returns the same buffer (no copy)', (t) => {
  const b = Buffer.from('Subject: x\r\n\r\nbody\r\n');
  t.is(new DotStuffer().push(b), b);
});

const crlfText = fc
  .array(fc.string({ maxLength: 20, unit: fc.constantFrom('.', 'a', ' ', 'Z') }), { maxLength: 12 })
  .map((lines) => lines.map((l) => `${l}\r\n`).join(''));

test('property: a client reading the stuffed stream gets the payload back, for any chunking', (t) => {
  fc.assert(
    fc.property(crlfText, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
      const s = new DotStuffer();
      const parts = chunked(Buffer.from(text, 'latin1'), cuts).map((c) => s.push(c));
      parts.push(s.finish());
      const r = unstuff(Buffer.concat(parts));
      return r !== undefined && r.payload === text && r.rest === '';
    }),
  );
  t.pass();
});

test('property: random bytes never end the response early', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const s = new DotStuffer();
      const parts = chunked(Buffer.from(bytes), cuts).map((c) => s.push(c));
      parts.push(s.finish());
      const wire = Buffer.concat(parts).toString('latin1');
      // The first "." line a client can see is the terminator at the very end.
      const first = wire.startsWith('.\r\n') ? 0 : wire.indexOf('\n.\r\n') + 1;
      return first === wire.length - 3;
    }),
  );
  t.pass();
});

function topOf(message: string, n: number, cuts: number[]): string {
  const f = new TopFilter(n);
  let out = '';
  for (const c of chunked(Buffer.from(message, 'latin1'), cuts)) {
    out += f.push(c).toString('latin1');
    if (f.done) break;
  }
  return out;
}

test('TOP returns the header, the blank line and n body lines', (t) => {
  const msg = 'From: a\r\nSubject: b\r\n\r\nl1\r\nl2\r\nl3\r\n';
  t.is(topOf(msg, 0, []), 'From: a\r\nSubject: b\r\n\r\n');
  t.is(topOf(msg, 2, []), 'From: a\r\nSubject: b\r\n\r\nl1\r\nl2\r\n');
  t.is(topOf(msg, 10, []), msg);
  t.is(topOf('From: a\r\n', 0, []), 'From: a\r\n');
});

const message = fc
  .tuple(
    fc.array(fc.constantFrom('From: a', 'Subject: hi', ' folded'), { maxLength: 4 }),
    fc.array(fc.constantFrom('', 'x', '.dot', 'body line'), { maxLength: 8 }),
  )
  .map(([h, b]) => `${h.map((l) => `${l}\r\n`).join('')}\r\n${b.map((l) => `${l}\r\n`).join('')}`);

test('property: TOP is the same for any chunking and is a prefix with the right line count', (t) => {
  fc.assert(
    fc.property(message, fc.nat(10), fc.array(fc.nat(), { maxLength: 8 }), (msg, n, cuts) => {
      const whole = topOf(msg, n, []);
      if (topOf(msg, n, cuts) !== whole || !msg.startsWith(whole)) return false;
      const headerEnd = msg.indexOf('\r\n\r\n') >= 0 && !msg.startsWith('\r\n') ? msg.indexOf('\r\n\r\n') + 4 : 2;
      const bodyLines = whole.slice(headerEnd).split('\r\n').length - 1;
      const available = msg.slice(headerEnd).split('\r\n').length - 1;
      return bodyLines === Math.min(n, available);
    }),
  );
  t.pass();
});
