// What IMAP transcripts show of literals (services/imap/transcript-payload.ts), on FETCH output shaped
// as fetch.ts hands it over (text runs, "{n}\r\n", the literal's octets) and on APPEND literals as the
// command reader reads them: which literal is which, how each is cut, the bounds per event and per
// session, and (property) that any literal contents and any split of them keep the walk in step.
import test from 'ava';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { EVENT_PAYLOAD_MAX } from '../../core/events.js';
import { SESSION_BUDGET, TranscriptPayloads } from '../../services/imap/transcript-payload.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function fetchOutput(items: Array<{ seq: number; item: string; data: Buffer; tilde?: boolean }>): Buffer[] {
  const out: Buffer[] = [];
  for (const it of items) {
    out.push(b(`* ${it.seq} FETCH (UID ${it.seq + 100} ${it.item} `), b(`${it.tilde ? '~' : ''}{${it.data.length}}\r\n`), it.data, b(')\r\n'));
  }
  return out;
}

const MESSAGE = b(`Subject: hello\r\nFrom: a@lab.test\r\n\r\n${'body line\r\n'.repeat(1000)}THE-END\r\n`);

test('each FETCH literal is named as announced and cut by its kind: message, header, text, partial, binary', (t) => {
  const p = new TranscriptPayloads();
  const header = MESSAGE.subarray(0, MESSAGE.indexOf('\r\n\r\n') + 4);
  const text = MESSAGE.subarray(MESSAGE.indexOf('\r\n\r\n') + 4);
  const shown = p.fetched(
    fetchOutput([
      { seq: 1, item: 'BODY[]', data: MESSAGE },
      { seq: 2, item: 'BODY[HEADER]', data: header },
      { seq: 3, item: 'BODY[TEXT]', data: text },
      { seq: 4, item: 'BODY[]<5>', data: MESSAGE.subarray(5, 25) },
      { seq: 5, item: 'BINARY[1]', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), tilde: true },
    ]),
  )!;
  t.is(shown.bytes, MESSAGE.length + header.length + text.length + 20 + 7);
  const blocks = shown.text.split(/\r\n\r\n(?=\* \d+ FETCH)/);
  t.is(blocks.length, 5);
  t.true(blocks[0].startsWith(`* 1 FETCH (UID 101 BODY[] {${MESSAGE.length}}\r\nSubject: hello`));
  t.true(blocks[0].includes('body line') && !blocks[0].includes('THE-END'));
  t.true(blocks[0].endsWith(`(${MESSAGE.length} octets in all)`));
  t.true(blocks[1].endsWith('From: a@lab.test\r\n\r\n'), 'a header section is shown whole');
  t.true(blocks[2].startsWith(`* 3 FETCH (UID 103 BODY[TEXT] {${text.length}}\r\nbody line`), 'TEXT is not taken for a header');
  t.true(blocks[2].length < 2048 + 200);
  t.is(blocks[3], `* 4 FETCH (UID 104 BODY[]<5> {20}\r\n${MESSAGE.subarray(5, 25).toString('latin1')}`);
  t.is(blocks[4], '* 5 FETCH (UID 105 BINARY[1] ~{7}\r\n(binary data)');
});

test('output without literals has no payload; an event shows at most 8 literals and 16 KiB, and counts the rest', (t) => {
  const p = new TranscriptPayloads();
  t.is(p.fetched([b('* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n* 2 FETCH (UID 6 FLAGS ())\r\n')]), undefined);
  const many = Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, item: 'BODY[]', data: MESSAGE }));
  const shown = p.fetched(fetchOutput(many))!;
  t.true(shown.text.length <= EVENT_PAYLOAD_MAX);
  t.is(shown.bytes, 20 * MESSAGE.length);
  const n = [...shown.text.matchAll(/^\* \d+ FETCH \(/gm)].length;
  t.true(n >= 1 && n <= 8, `${n} shown`);
  t.true(shown.text.endsWith(`… and ${20 - n} more literals (${(20 - n) * MESSAGE.length} octets) not shown`), 'the rest are counted, not cut off');
  const few = new TranscriptPayloads().fetched(fetchOutput(many.slice(0, 10).map((m) => ({ ...m, data: b('Subject: s\r\n\r\nhi\r\n') }))))!;
  t.is([...few.text.matchAll(/^\* \d+ FETCH \(/gm)].length, 8, 'at most 8 literals in one event');
  t.true(few.text.endsWith('… and 2 more literals (36 octets) not shown'));
});

test('APPEND: the message literals, not the mailbox name or a CATENATE URL; several messages are numbered', (t) => {
  const p = new TranscriptPayloads();
  const one = p.appended([
    { line: b('a APPEND {5}'), data: b('INBOX') },
    { line: b(' (\\Seen) {' + String(MESSAGE.length) + '}'), data: MESSAGE },
  ])!;
  t.false(one.text.startsWith('INBOX'));
  t.true(one.text.startsWith('Subject: hello'));
  t.is(one.bytes, MESSAGE.length);
  const cat = p.appended([
    { line: b('b APPEND INBOX CATENATE (URL {20}'), data: b('/INBOX;UID=1/;SECT=1') },
    { line: b(' TEXT {7}'), data: b('Hello\r\n') },
  ])!;
  t.is(cat.text, 'Hello\r\n');
  const multi = p.appended([
    { line: b('c APPEND INBOX {14}'), data: b('Subject: 1\r\n\r\n') },
    { line: b(' {14}'), data: b('Subject: 2\r\n\r\n') },
  ])!;
  t.regex(multi.text, /^\(message 1, 14 octets\)\r\nSubject: 1/);
  t.regex(multi.text, /\(message 2, 14 octets\)\r\nSubject: 2/);
  t.is(p.appended([{ line: b('d APPEND {5}'), data: b('INBOX') }]), undefined);
});

test('a session shows at most SESSION_BUDGET characters in all, then nothing more', (t) => {
  const p = new TranscriptPayloads();
  let total = 0;
  let events = 0;
  for (let i = 0; i < 200 && p.open; i++) {
    const shown = p.fetched(fetchOutput([{ seq: 1, item: 'BODY[HEADER]', data: Buffer.alloc(20_000, 'a') }]));
    total += shown?.text.length ?? 0;
    events++;
  }
  t.false(p.open);
  t.true(total <= SESSION_BUDGET + 3, `${total}`);
  t.true(events < 200);
  t.is(p.fetched(fetchOutput([{ seq: 1, item: 'BODY[]', data: MESSAGE }])), undefined);
});

test('property: any literal contents, split anywhere, keep the walk in step (every literal found, sizes exact, never throws)', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom('BODY[]', 'BODY[TEXT]', 'BODY[1.MIME]', 'RFC822.HEADER', 'BINARY[2]'),
          fc.uint8Array({ maxLength: 300 }),
          fc.array(fc.nat(300), { maxLength: 3 }),
        ),
        {
          minLength: 1,
          maxLength: 12,
        },
      ),
      (items) => {
        const parts: Buffer[] = [];
        let octets = 0;
        items.forEach(([item, bytes, cuts], i) => {
          const data = Buffer.from(bytes);
          octets += data.length;
          parts.push(b(`* ${i + 1} FETCH (${item} `), b(`{${data.length}}\r\n`));
          // The literal's octets in pieces (a "{9}\r\n" or "}\r\n" inside them is data, not an announcement).
          let at = 0;
          for (const c of [...cuts].sort((x, y) => x - y)) {
            const to = Math.min(c, data.length);
            if (to > at) parts.push(data.subarray(at, to));
            at = Math.max(at, to);
          }
          if (at < data.length) parts.push(data.subarray(at));
          parts.push(b(')\r\n'));
        });
        const shown = new TranscriptPayloads().fetched(parts)!;
        const intros = [...shown.text.matchAll(/^\* (\d+) FETCH \(/gm)].map((m) => Number(m[1]));
        // Every literal shown is announced, in order (a literal's own octets could look like an intro too: only the order is checked).
        const expected = items.slice(0, 8).map((_, i) => i + 1);
        const announced = intros.filter((n) => expected.includes(n)).slice(0, expected.length);
        return shown.bytes === octets && isDeepStrictEqual(announced, expected) && shown.text.length <= EVENT_PAYLOAD_MAX;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
