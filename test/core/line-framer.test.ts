import test from 'ava';
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { FramerError, LineFramer } from '../../core/line-framer.js';

function feed(framer: LineFramer, chunks: readonly (Buffer | string)[]): void {
  for (const c of chunks) framer.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'));
  framer.end();
}

/** Splits `data` at the given cut points (sorted, deduplicated, within range). */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

async function allLines(framer: LineFramer, max?: number): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    try {
      const l = await framer.readLine(max);
      if (l === null) return lines;
      lines.push(l.toString('latin1'));
    } catch (err) {
      if (err instanceof FramerError) lines.push(`<${err.code}>`);
      else throw err;
    }
  }
}

async function collectDot(framer: LineFramer, max = 1e9) {
  const parts: Buffer[] = [];
  const r = await framer.readDotData((c) => parts.push(Buffer.from(c)), max);
  return { r, data: Buffer.concat(parts).toString('latin1') };
}

test('readLine splits CRLF and bare LF lines and keeps the partial last line out', async (t) => {
  const f = new LineFramer({ maxLineLength: 100 });
  feed(f, ['EHLO a\r\nNOOP\nQU', 'IT\r\npartial']);
  t.deepEqual(await allLines(f), ['EHLO a', 'NOOP', 'QUIT']);
});

test('an over-long line is discarded to its end and reported once; the next line is read', async (t) => {
  const f = new LineFramer({ maxLineLength: 10 });
  feed(f, ['short\r\n', 'x'.repeat(50), 'y'.repeat(50), '\r\nnext\r\n']);
  t.deepEqual(await allLines(f), ['short', '<LINE_TOO_LONG>', 'next']);
});

test('a line of exactly the maximum length is accepted, one more octet is not', async (t) => {
  const f = new LineFramer({ maxLineLength: 5 });
  feed(f, ['12345\r\n123456\r\nok\r\n']);
  t.deepEqual(await allLines(f), ['12345', '<LINE_TOO_LONG>', 'ok']);
});

test('readHead returns the head including the empty line, and leaves the body', async (t) => {
  const f = new LineFramer({ maxLineLength: 100 });
  feed(f, ['GET / HTTP/1.1\r\nHost: a\r', '\n\r', '\nBODY']);
  const head = await f.readHead(1000);
  t.is(head?.toString(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.is((await f.readBytes(4))?.toString(), 'BODY');
  t.is(await f.readHead(1000), null);
});

test('readHead accepts bare LF line endings and rejects heads over the limit', async (t) => {
  const f = new LineFramer({ maxLineLength: 100 });
  feed(f, ['GET / HTTP/1.0\nA: b\n\nrest']);
  t.is((await f.readHead(100))?.toString(), 'GET / HTTP/1.0\nA: b\n\n');
  const g = new LineFramer({ maxLineLength: 100 });
  feed(g, ['GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(100)]);
  const err = await t.throwsAsync(() => g.readHead(200));
  t.is((err as FramerError).code, 'HEAD_TOO_LARGE');
});

test('readChunk and readBytes switch to counted mode and back to lines', async (t) => {
  const f = new LineFramer({ maxLineLength: 100 });
  feed(f, ['A {5}\r\nhel', 'lo world\r\nB\r\n']);
  t.is((await f.readLine())?.toString(), 'A {5}');
  t.is((await f.readBytes(5))?.toString(), 'hello');
  t.is((await f.readChunk(3))?.toString(), ' wo');
  t.is((await f.readLine())?.toString(), 'rld');
  t.is((await f.readLine())?.toString(), 'B');
  t.is(await f.readBytes(1), null);
});

test('DATA: dot-unstuffing, end of data, pipelined command kept', async (t) => {
  const f = new LineFramer({ maxLineLength: 512 });
  feed(f, ['Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n']);
  const { r, data } = await collectDot(f);
  t.is(data, 'Subject: x\r\n\r\n.leading dot\r\n');
  t.deepEqual(r, { size: data.length, overflow: false, bareLineEndings: 0 });
  t.is((await f.readLine())?.toString(), 'QUIT');
});

test('DATA: an empty message ends at the first "." line', async (t) => {
  const f = new LineFramer({ maxLineLength: 512 });
  feed(f, ['.\r\n']);
  const { r, data } = await collectDot(f);
  t.is(data, '');
  t.is(r?.size, 0);
});

test('DATA: bare LF and bare CR never end the message (SMTP smuggling) and are normalised', async (t) => {
  for (const probe of [
    'a\n.\nMAIL FROM:<x>\r\n',
    'a\r\n.\nMAIL FROM:<x>\r\n',
    'a\n.\r\nMAIL FROM:<x>\r\n',
    'a\r.\rMAIL FROM:<x>\r\n',
    'a\r\n.\rMAIL FROM:<x>\r\n',
  ]) {
    const f = new LineFramer({ maxLineLength: 512 });
    feed(f, [probe, '.\r\n']);
    const { r, data } = await collectDot(f);
    t.truthy(r, probe);
    t.true(data.includes('MAIL FROM:<x>'), `smuggled command stays content for ${JSON.stringify(probe)}`);
    t.false(/\r(?!\n)|(?<!\r)\n/.test(data), 'only CRLF line endings are passed on');
    t.true(r!.bareLineEndings > 0);
  }
});

test('DATA: over the size limit the sink stops but the data is read to its end', async (t) => {
  const f = new LineFramer({ maxLineLength: 512 });
  feed(f, ['x'.repeat(1000) + '\r\n.\r\nNOOP\r\n']);
  const { r, data } = await collectDot(f, 100);
  t.true(r!.overflow);
  t.is(r!.size, 1002);
  t.true(data.length <= 100);
  t.is((await f.readLine())?.toString(), 'NOOP');
});

test('DATA: input ending before the end of data resolves null', async (t) => {
  const f = new LineFramer({ maxLineLength: 512 });
  feed(f, ['half a message\r\n']);
  const { r } = await collectDot(f);
  t.is(r, null);
});

test('property: any split of line input gives the same lines', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\r', '\n', '{', '.'), maxLength: 30 }), { maxLength: 10 }),
      fc.array(fc.nat(400), { maxLength: 8 }),
      async (parts, cuts) => {
        const data = Buffer.from(parts.join('\r\n') + '\r\n', 'latin1');
        const whole = new LineFramer({ maxLineLength: 16 });
        feed(whole, [data]);
        const pieces = new LineFramer({ maxLineLength: 16 });
        feed(pieces, split(data, cuts));
        t.deepEqual(await allLines(pieces), await allLines(whole));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: any split of DATA input gives the same message and leaves the same rest', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\r\n.', 'x'), maxLength: 60 }),
      fc.array(fc.nat(200), { maxLength: 8 }),
      async (body, cuts) => {
        const data = Buffer.from(body + '\r\n.\r\nNEXT\r\n', 'latin1');
        const read = async (chunks: Buffer[]) => {
          const f = new LineFramer({ maxLineLength: 512 });
          feed(f, chunks);
          const d = await collectDot(f);
          return { ...d, rest: (await f.readLine())?.toString() ?? null };
        };
        const whole = await read([data]);
        t.deepEqual(await read(split(data, cuts)), whole);
        t.false(/\r(?!\n)|(?<!\r)\n/.test(whole.data));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: random bytes never throw anything but FramerError from any read mode', async (t) => {
  let reads = 0;
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), async (bytes, cuts) => {
      const data = Buffer.from(bytes);
      for (const mode of ['line', 'head', 'dot'] as const) {
        const f = new LineFramer({ maxLineLength: 32 });
        feed(f, split(data, cuts));
        try {
          if (mode === 'line') await allLines(f);
          else if (mode === 'head') await f.readHead(64);
          else await collectDot(f, 100);
          reads++;
        } catch (err) {
          t.true(err instanceof FramerError, String(err));
        }
      }
    }),
    { numRuns: 200 },
  );
  t.true(reads > 200, 'most reads complete normally');
});

test('backpressure: the source is paused past the high-water mark and resumed when read', async (t) => {
  const src = new PassThrough();
  const f = new LineFramer({ maxLineLength: 100, highWaterMark: 1024 });
  f.attach(src);
  for (let i = 0; i < 200; i++) src.write(`line ${i} ${'x'.repeat(40)}\r\n`);
  await new Promise((r) => setImmediate(r));
  t.true(src.isPaused(), 'paused while nobody reads');
  t.true(f.buffered < 1024 + 64 * 2, `buffer bounded (${f.buffered})`);
  let n = 0;
  src.end();
  while ((await f.readLine()) !== null) n++;
  t.is(n, 200);
});

test('DATA of millions of empty or short lines reaches the sink as a few blocks, not one entry per line (issue 14)', async (t) => {
  for (const line of ['\r\n', 'a\r\n', '..\r\n', 'x\n']) {
    const f = new LineFramer({ maxLineLength: 100 });
    const body = Buffer.from(line.repeat(200_000), 'latin1');
    feed(f, [...split(body, [1, 4096, 65536, 100_000, 333_333]), '\r\n.\r\n']);
    let calls = 0;
    let size = 0;
    const r = await f.readDotData((c) => {
      calls++;
      size += c.length;
    }, 1e9);
    t.truthy(r);
    t.is(size, r!.size);
    t.true(calls <= Math.ceil(r!.size / (64 * 1024)) + 8, `${calls} sink calls for ${r!.size} octets of ${JSON.stringify(line)} lines`);
  }
});
