// Property and hostile-input tests for the SMTP command parsers and the BDAT normaliser.
import test from 'ava';
import fc from 'fast-check';
import { LineFramer } from '../../core/line-framer.js';
import { parseMailbox, parsePathArgument } from '../../services/smtp/address.js';
import { SMTP_COMMANDS } from '../../services/smtp/commands/index.js';
import { CrlfNormalizer } from '../../services/smtp/crlf-normalizer.js';
import { formatReply } from '../../services/smtp/replies.js';

const atext = fc.constantFrom(..."abcxyzABCXYZ0189!#$%&'*+-/=?^_`{|}~".split(''));
const atom = fc.array(atext, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
const localPart = fc
  .array(atom, { minLength: 1, maxLength: 4 })
  .map((a) => a.join('.'))
  .filter((s) => s.length <= 64);
const label = fc
  .tuple(fc.constantFrom(...'abcz09'.split('')), fc.array(fc.constantFrom(...'abz09-'.split('')), { maxLength: 10 }), fc.constantFrom(...'abz09'.split('')))
  .map(([a, m, z]) => a + m.join('') + z);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((a) => a.join('.'));
const address = fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`);

test('valid addresses and parameters round-trip through the MAIL/RCPT parser', (t) => {
  fc.assert(
    fc.property(address, fc.nat(10_000_000), fc.boolean(), fc.boolean(), (addr, size, spaceAfterColon, upper) => {
      const head = upper ? 'FROM:' : 'from:';
      const r = parsePathArgument(`${head}${spaceAfterColon ? ' ' : ''}<${addr}> SIZE=${size} BODY=8BITMIME`, 'FROM');
      if (!r.ok) return false;
      return r.mailbox?.address === addr && r.params.get('SIZE') === String(size) && r.params.get('BODY') === '8BITMIME';
    }),
  );
  t.pass();
});

test('quoted local parts, address literals, source routes, UTF-8, postmaster, null sender', (t) => {
  const q = parsePathArgument('TO:<"john \\"jd\\" doe"@lab.test>', 'TO');
  t.true(q.ok && q.mailbox?.localValue === 'john "jd" doe');
  const lit = parsePathArgument('TO:<root@[192.168.1.10]>', 'TO');
  t.true(lit.ok && lit.mailbox?.domain === '[192.168.1.10]');
  t.false(parsePathArgument('TO:<root@[192.168.1.300]>', 'TO').ok);
  const route = parsePathArgument('TO:<@relay.test,@other.test:alice@lab.test>', 'TO');
  t.true(route.ok && route.mailbox?.address === 'alice@lab.test');
  const utf8 = parsePathArgument('FROM:<jürgen@bücher.test> SMTPUTF8', 'FROM');
  t.true(utf8.ok && utf8.mailbox?.utf8 === true && utf8.params.has('SMTPUTF8'));
  const pm = parsePathArgument('TO:<PostMaster>', 'TO');
  t.true(pm.ok && pm.postmaster);
  const nul = parsePathArgument('FROM:<>', 'FROM');
  t.true(nul.ok && nul.mailbox === null);
  t.false(parsePathArgument('TO:<>', 'TO').ok);
  t.false(parsePathArgument('FROM:<a@b> SIZE=1 SIZE=2', 'FROM').ok);
  t.false(parsePathArgument(`FROM:<${'a'.repeat(65)}@b.test>`, 'FROM').ok);
  t.false(parsePathArgument(`FROM:<a@${'b'.repeat(250)}.test>`, 'FROM').ok);
  t.false(parsePathArgument('FROM:<a@b', 'FROM').ok);
  t.false(parsePathArgument('FROM:<a..b@c>', 'FROM').ok);
  t.false(parsePathArgument('FROM:<a@-b.test>', 'FROM').ok);
  t.is(parseMailbox('nobody'), undefined);
});

test('random input never throws in the path parser, the command table or the reply formatter', (t) => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.constantFrom<'FROM' | 'TO'>('FROM', 'TO'),
      fc.constantFrom('init', 'ready', 'mail', 'rcpt'),
      (s, kw, state) => {
        const r = parsePathArgument(s, kw);
        const r2 = parsePathArgument(`${kw}:${s}`, kw);
        SMTP_COMMANDS.lookup(s.split(' ')[0].toUpperCase(), state, s.split(' ').length - 1);
        formatReply({ code: 250, enhanced: '2.0.0', text: [s] });
        return typeof r.ok === 'boolean' && typeof r2.ok === 'boolean';
      },
    ),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const s = Buffer.from(bytes).toString('utf8');
      return typeof parsePathArgument(`FROM:<${s}>`, 'FROM').ok === 'boolean';
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

/** Splits `buf` at the given cut points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const crlfBytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a.map((b) => [0x0d, 0x0a, 0x2e, 0x41][b % 4])));

test('BDAT normaliser: any chunking gives the same output, CRLF only, and clean input passes unchanged', (t) => {
  const normalise = (parts: Buffer[]): Buffer => {
    const n = new CrlfNormalizer();
    const out: Buffer[] = [];
    for (const p of parts) out.push(...n.push(p));
    out.push(...n.end());
    return Buffer.concat(out);
  };
  fc.assert(
    fc.property(crlfBytes, fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
      const whole = normalise([input]);
      const chunked = normalise(split(input, cuts));
      const text = whole.toString('latin1');
      return whole.equals(chunked) && !/\r(?!\n)|(?<!\r)\n/.test(text);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z .]{0,20}$/), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 6 }), (lines, cuts) => {
      const clean = Buffer.from(lines.map((l) => `${l}\r\n`).join(''));
      return normalise(split(clean, cuts)).equals(clean);
    }),
  );
  t.pass();
});

/** Runs the framer's DATA reader (the SMTP DATA state machine) over `parts`. */
async function readDot(parts: Buffer[], max = 1 << 20): Promise<{ content: Buffer; rest: Buffer; result: unknown }> {
  const f = new LineFramer({ maxLineLength: 512 });
  for (const p of parts) f.push(p);
  f.end();
  const chunks: Buffer[] = [];
  const result = await f.readDotData((c) => chunks.push(Buffer.from(c)), max);
  return { content: Buffer.concat(chunks), rest: f.takeBuffered(), result };
}

test('DATA state machine: dot-stuffed line messages come back unstuffed, for any chunking', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.stringMatching(/^[a-z. ]{0,12}$/), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), async (lines, cuts) => {
      const content = lines.map((l) => `${l}\r\n`).join('');
      const wire = Buffer.from(`${lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join('')}.\r\nQUIT\r\n`);
      const r = await readDot(split(wire, cuts));
      return r.content.toString() === content && r.rest.toString() === 'QUIT\r\n';
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('DATA state machine on hostile bytes: never throws, chunking never changes the result, only CRLF.CRLF ends', async (t) => {
  await fc.assert(
    fc.asyncProperty(crlfBytes, fc.array(fc.nat(), { maxLength: 8 }), async (input, cuts) => {
      const whole = await readDot([input]);
      const chunked = await readDot(split(input, cuts));
      if (!whole.content.equals(chunked.content) || !whole.rest.equals(chunked.rest) || JSON.stringify(whole.result) !== JSON.stringify(chunked.result))
        return false;
      if (whole.result === null) return true;
      // The end was found: the consumed input ends in CRLF "." CRLF and holds no earlier one.
      const consumed = input.subarray(0, input.length - whole.rest.length).toString('latin1');
      const full = `\r\n${consumed}`;
      return full.endsWith('\r\n.\r\n') && full.indexOf('\r\n.\r\n') === full.length - 5;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

/**
 * The simple reference for the DATA reader: the message as lines, each ended by a real CRLF or a bare
 * LF. On the wire a line after a real CRLF (or the first) that starts with a dot is dot-stuffed; after
 * a bare LF nothing is (that line is content as it stands, never stuffing nor the end). What comes
 * back is every line with CRLF, and the bare LFs counted. After a last line ended by a bare LF the
 * wire needs an empty line (a real CRLF) before the final dot: that empty line is content too.
 */
function dotReference(lines: ReadonlyArray<{ text: string; bare: boolean }>): { wire: Buffer; content: Buffer; bare: number } {
  let wire = '';
  let content = '';
  let afterCrlf = true;
  for (const { text, bare } of lines) {
    wire += `${afterCrlf && text.startsWith('.') ? '.' : ''}${text}${bare ? '\n' : '\r\n'}`;
    content += `${text}\r\n`;
    afterCrlf = !bare;
  }
  return {
    wire: Buffer.from(`${wire}${afterCrlf ? '' : '\r\n'}.\r\nQUIT\r\n`, 'latin1'),
    content: Buffer.from(`${content}${afterCrlf ? '' : '\r\n'}`, 'latin1'),
    bare: lines.filter((l) => l.bare).length,
  };
}

test('DATA reader against a line-based reference: long and short lines, bare LFs, any chunking, any size limit', async (t) => {
  // Lines up to a few KiB (pieces handed on as slices of the input) and short ones (copied into blocks).
  // (fast-check keeps generated strings short: the long ones are a short pattern repeated.)
  const longLine = fc
    .tuple(fc.stringMatching(/^[.]?[a-z .\u00e9\u00ff]{1,12}$/), fc.integer({ min: 40, max: 300 }))
    .map(([s, n]) => s.repeat(n).slice(0, 3000));
  const lineText = fc.oneof(fc.stringMatching(/^[a-z. ]{0,12}$/), longLine);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ text: lineText, bare: fc.boolean() }), { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.option(fc.nat(12_000), { nil: undefined }),
      async (lines, cuts, max) => {
        const ref = dotReference(lines);
        const expected = ref.content;
        const r = await readDot(split(ref.wire, cuts), max);
        const result = r.result as { size: number; overflow: boolean; bareLineEndings: number } | null;
        if (result === null || r.rest.toString() !== 'QUIT\r\n') return false;
        if (result.size !== expected.length || result.bareLineEndings !== ref.bare) return false;
        const limit = max ?? 1 << 20;
        if (!result.overflow) return expected.length <= limit && r.content.equals(expected);
        // Over the limit: what the sink got is a prefix of the content, never more than the limit.
        return expected.length > limit && r.content.length <= limit && expected.subarray(0, r.content.length).equals(r.content);
      },
    ),
    { numRuns: 600 },
  );
  t.pass();
});

test('DATA reader: a message that arrives in one read reaches the sink as one piece', async (t) => {
  const f = new LineFramer({ maxLineLength: 512 });
  const body = `Subject: one piece\r\n\r\n${'a line of text\r\n'.repeat(100)}`;
  f.push(Buffer.from(`${body}.\r\n`));
  const pieces: Buffer[] = [];
  const result = await f.readDotData((c) => pieces.push(c), 1 << 20);
  t.is(pieces.length, 1);
  t.is(pieces[0].toString(), body);
  t.deepEqual(result, { size: body.length, overflow: false, bareLineEndings: 0 });
});
