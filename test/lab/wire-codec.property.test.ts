// The compact `batch` encoding (core/lab/wire-codec.ts): whatever lines, session summaries and other
// items the hub batches, in whatever order and however their sessions interleave, decodeBatch gives
// back the same data in the same order (only an unchanged summary repeated in one batch is left out,
// unless the session was forgotten in between),
// and any JSON at all decodes without throwing.
import test, { type ExecutionContext } from 'ava';
import { summaryOf } from './lab-client.js';
import fc from 'fast-check';
import { History } from '../../core/lab/history.js';
import { encodeLine, scratch } from '../../core/lab/slab-store.js';
import { closeLineText, decodeBatch, LINE_KIND_CODE, LINE_NOTES, openArgsPlain, openLineText, textArgs, textArgsJson } from '../../core/lab/wire-codec.js';
import { lineDir, type LineData, type LineKind, type SessionSummary } from '../../core/lab/wire.js';

const kinds: LineKind[] = ['command', 'reply', 'tls', 'notice', 'auth', 'open', 'close', 'skipped'];
const sid = fc.constantFrom('smtp-1', 'smtp-2', 'imap-17', 'http-"3"', 'ü-4');
const text = fc.string({ unit: 'binary', maxLength: 40 });

const address = fc.oneof(fc.constantFrom('127.0.0.1', '::1', '::ffff:10.0.0.5', '10.0.0.5'), text);
const port = fc.oneof(fc.nat({ max: 65535 }), fc.integer());
/** Any text, and the sentences the hub writes for open and close (the stream sends their values). */
const lineText = fc.oneof(
  text,
  fc.tuple(address, port, address, port, text, fc.boolean()).map(([a, p, b, q, n, tls]) => openLineText(a, p, b, q, n, tls)),
  fc
    .tuple(
      text,
      fc.oneof(
        fc.double({ min: 0, max: 1e7, noNaN: true }).map((x) => x.toFixed(1)),
        text,
      ),
      fc.integer(),
      fc.nat(),
    )
    .map(([r, secs, i, o]) => closeLineText(r, secs, i, o)),
);

const line = fc.record(
  {
    session: sid,
    t: fc.integer({ min: 0, max: 2 ** 45 }),
    kind: fc.oneof(fc.constantFrom(...kinds), fc.constantFrom<LineKind>('open', 'close')),
    dir: fc.constantFrom<LineData['dir']>('c', 's', 'm'),
    text: lineText,
    bytes: fc.nat(),
    cut: fc.nat(),
    payload: text,
    payloadBytes: fc.nat(),
    payloadLater: fc.constant<true>(true),
    encrypted: fc.constant<true>(true),
    note: fc.oneof(fc.constantFrom(...Object.values(LINE_NOTES)), text),
    skipped: fc.nat(),
    request: fc.record({ method: fc.constantFrom('GET', 'POST'), path: text, ms: fc.nat() }),
    handshake: fc.constant<true>(true),
  },
  { requiredKeys: ['session', 't', 'kind', 'dir', 'text'] },
);

const summary = fc
  .record(
    {
      id: sid,
      service: fc.constantFrom('smtp', 'imap', 'http'),
      listener: fc.constantFrom('smtp', 'imaps', ''),
      peer: fc.record({ address: fc.constantFrom('127.0.0.1', '::1', '10.0.0.5'), port: fc.nat({ max: 65535 }) }),
      local: fc.record({ address: fc.constantFrom('127.0.0.1', '::1'), port: fc.nat({ max: 65535 }) }),
      user: text,
      tls: fc.constantFrom<SessionSummary['tls']>('none', 'implicit', 'starttls'),
      handshake: fc.boolean(),
      tlsSummary: text,
      openedAt: fc.integer({ min: 0, max: 2 ** 45 }),
      closedAfter: fc.nat(),
      closeReason: text,
      bytesIn: fc.nat(),
      bytesOut: fc.nat(),
      lines: fc.nat(),
      lab: fc.boolean(),
      requests: fc.nat(),
      authFailures: fc.nat(),
    },
    { requiredKeys: ['id', 'service', 'peer', 'local', 'tls', 'handshake', 'openedAt', 'bytesIn', 'bytesOut', 'lines', 'authFailures'] },
  )
  .map(({ closedAfter, listener, ...s }): SessionSummary => ({
    ...s,
    ...(listener ? { listener } : {}),
    ...(closedAfter !== undefined ? { closedAt: s.openedAt + closedAfter } : {}),
  }));

const other = fc.oneof(
  fc.record({ name: fc.constantFrom('notice', 'dhcp', 'pin', 'forget'), data: fc.jsonValue() }),
  fc.record({ name: fc.constant('forget'), data: fc.record({ id: sid }) }),
);

type Gen = { type: 'line'; data: Omit<LineData, 'seq'> } | { type: 'session'; data: SessionSummary } | { type: string; data: unknown };

const item = fc.oneof(
  line.map((data): Gen => ({ type: 'line', data })),
  summary.map((data): Gen => ({ type: 'session', data })),
  other.map((o): Gen => ({ type: o.name, data: o.data })),
);

/** Lines as a viewer holds them: `dir` filled in where the stream leaves it to the kind. */
function expected(type: string, data: unknown, seq: number): unknown {
  if (type !== 'line') return JSON.parse(JSON.stringify(data)) as unknown;
  const l = { ...(data as LineData), seq };
  return JSON.parse(JSON.stringify({ ...l, dir: l.dir ?? lineDir(l) })) as unknown;
}

/** encodeLine's octets as text (what a batch carries for the line). */
function lineBody(l: LineData, args?: Parameters<typeof encodeLine>[1]): string {
  return scratch().toString('utf8', 0, encodeLine(l, args));
}

/**
 * encodeLine's octets for `l` (given `args` or not) are the kind's code, the text (an open or close
 * line's values, when its text splits into them) and JSON.stringify of the extra object, as JSON.
 */
function checkBody(t: ExecutionContext, l: LineData, args?: Parameters<typeof encodeLine>[1]): void {
  const got = lineBody(l, args);
  const parsed = JSON.parse(`[${got}]`) as unknown[];
  if (l.kind === 'open' || l.kind === 'close') t.is(JSON.stringify(parsed[1]), textArgsJson(l.kind, l.text) ?? JSON.stringify(l.text));
  else t.is(parsed[1], l.text);
  const x = extraAsObject(l);
  const want = `${JSON.stringify(LINE_KIND_CODE[l.kind])},${JSON.stringify(parsed[1])}${Object.keys(x).length > 0 ? `,${JSON.stringify(x)}` : ''}`;
  if (got !== want) t.is(got, want);
}

test('a batch decodes to the items it was built from, in order, whatever the sessions and fields (property)', (t) => {
  fc.assert(
    fc.property(fc.array(item, { maxLength: 40 }), fc.array(fc.nat({ max: 3 }), { minLength: 40, maxLength: 40 }), (items, gaps) => {
      const h = new History(10_000, 1 << 30, 'e');
      const added = items.map((g, i) => {
        // Event numbers go up, with holes (items a stream may not see).
        for (let k = 0; k < gaps[i]; k++) h.add('notice', {}, () => true, 1);
        return h.add(g.type, g.data, () => true, 100);
      });
      const frame = h.batch(added, h.seq);
      const data = frame.slice(frame.indexOf('\ndata: ') + 7, -2);
      const decoded = decodeBatch(JSON.parse(data));
      const want: Array<[string, unknown]> = [];
      const seen = new Map<string, string>();
      for (const it of added) {
        // After a forget, the same summary again is news to the viewer.
        if (it.type === 'forget' && typeof (it.data as { id?: unknown } | null)?.id === 'string') seen.delete((it.data as { id: string }).id);
        if (it.type === 'session') {
          // An unchanged summary the batch already carried is left out.
          const key = JSON.stringify(it.data);
          const id = (it.data as SessionSummary).id;
          if (seen.get(id) === key) continue;
          seen.set(id, key);
        }
        want.push([it.type, expected(it.type, it.data, it.seq)]);
      }
      t.deepEqual(
        decoded.map(([n, d]): [string, unknown] => [n, JSON.parse(JSON.stringify(d)) as unknown]),
        want,
      );
    }),
  );
});

test('any JSON decodes without throwing (property)', (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      t.true(Array.isArray(decodeBatch(v)));
    }),
  );
  // A line naming a session number the batch never named gets an empty session, not a crash.
  const [[name, l]] = decodeBatch([[0, 1, 2, 7, 'c', 'NOOP']]);
  t.is(name, 'line');
  t.like(l, { seq: 1, t: 2, session: '', kind: 'command', dir: 'c', text: 'NOOP' });
});

test('an unchanged summary again in one batch is left out, but not after a forget of its session', (t) => {
  const h = new History(100, 1 << 20, 'e');
  const s = summaryOf({ id: 'smtp-1', peer: { address: '127.0.0.1', port: 1 }, openedAt: 1 });
  const all = () => true;
  const items = [h.add('session', s, all, 1), h.add('session', s, all, 1), h.add('forget', { id: 'smtp-1' }, all, 1), h.add('session', s, all, 1)];
  const frame = h.batch(items, h.seq);
  const names = decodeBatch(JSON.parse(frame.slice(frame.indexOf('\ndata: ') + 7, -2))).map(([n]) => n);
  t.deepEqual(names, ['session', 'forget', 'session']);
});

test('open and close lines travel as their values only when those give back exactly the same text', (t) => {
  const h = new History(100, 1 << 20, 'e');
  const texts: Array<[LineKind, string]> = [
    ['open', openLineText('::1', 40000, '::1', 25, 'smtp', true)],
    ['open', 'TCP connection from a:007 to b:25 (smtp)'],
    ['close', closeLineText('idle timeout (300 s)', '12.5', 10, 20)],
    ['close', 'connection closed (x) after 1.0 s: 01 octets in, 2 out'],
  ];
  const items = texts.map(([kind, text]) => h.add('line', { session: 's-1', t: 1, kind, dir: 'm', text }, () => true, 1));
  const frame = h.batch(items, h.seq);
  const data = frame.slice(frame.indexOf('\ndata: ') + 7, -2);
  t.deepEqual(
    decodeBatch(JSON.parse(data)).map(([, l]) => (l as LineData).text),
    texts.map(([, text]) => text),
  );
  // The first and third as values (no sentence on the wire), the odd ones as text.
  t.false(data.includes('TCP connection from ::1'));
  t.false(data.includes('idle timeout (300 s)) after'));
  t.true(data.includes('a:007'));
});

/** A line's extra object as the stream means it (LineExtra's keys in order): what encodeLine writes is JSON.stringify of it. */
function extraAsObject(l: LineData): Record<string, unknown> {
  const x: Record<string, unknown> = {};
  if (l.bytes !== undefined) x.b = l.bytes;
  if (l.cut !== undefined) x.u = l.cut;
  if (l.payload !== undefined) x.p = l.payload;
  if (l.payloadBytes !== undefined) x.pb = l.payloadBytes;
  if (l.payloadLater) x.pl = 1;
  if (l.encrypted) x.e = 1;
  const usual = l.kind === 'open' ? LINE_NOTES.open : l.kind === 'close' ? LINE_NOTES.close : undefined;
  const keys = new Map<string, string>(Object.entries(LINE_NOTES).map(([k, v]) => [v, k]));
  if (l.note === undefined) {
    if (usual !== undefined) x.n = '';
  } else if (l.note !== usual) {
    const key = keys.get(l.note);
    if (key !== undefined) x.n = key;
    else x.nt = l.note;
  }
  if (l.skipped !== undefined) x.k = l.skipped;
  if (l.request) x.q = [l.request.method, l.request.path, l.request.ms];
  if (l.handshake) x.h = 1;
  if (l.dir !== undefined && l.dir !== lineDir({ kind: l.kind })) x.d = l.dir;
  return x;
}

/** Payloads as services hand them out: short ones, long ones with line ends, and a few that repeat (as one string or equal copies). */
const REPEATED = [
  'Host: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n',
  'Server: labnet\r\nDate: Fri, 04 Dec 2026 13:00:00 GMT\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n',
  'Server: labnet\r\nDate: Fri, 04 Dec 2026 13:00:01 GMT\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n',
];
const payloadText = fc.oneof(
  text,
  fc.string({ unit: 'binary', minLength: 60, maxLength: 5000 }),
  fc.array(fc.constantFrom('a', '\r\n', '"', '\\', '\u0001', '\ud800', 'é', 'x: y'), { minLength: 20, maxLength: 400 }).map((a) => a.join('')),
  fc.constantFrom(...REPEATED),
  fc.constantFrom(...REPEATED).map((p) => p.split('').join('')),
);

test('a line body is the same JSON text as its kind, text and extra object through JSON.stringify, with payloads repeated or not (property)', (t) => {
  const body = fc.record(
    {
      kind: fc.constantFrom(...kinds),
      dir: fc.constantFrom<LineData['dir']>('c', 's', 'm'),
      text: lineText,
      bytes: fc.oneof(fc.nat(), fc.double()),
      cut: fc.nat(),
      payload: payloadText,
      payloadBytes: fc.nat(),
      payloadLater: fc.constant<true>(true),
      encrypted: fc.boolean(),
      note: fc.oneof(fc.constantFrom(...Object.values(LINE_NOTES)), text),
      skipped: fc.nat(),
      request: fc.record({ method: fc.constantFrom('GET', 'POST'), path: text, ms: fc.oneof(fc.nat(), fc.double()) }),
      handshake: fc.boolean(),
    },
    { requiredKeys: ['kind', 'text'] },
  );
  fc.assert(
    fc.property(fc.array(body, { minLength: 1, maxLength: 12 }), (lines) => {
      for (const b of lines) {
        const l = { seq: 1, session: 's-1', t: 1, ...b } as LineData;
        checkBody(t, l);
      }
    }),
  );
  t.pass();
});

test('encodeLine writes JSON.stringify of the extra object for any values, with or without the open or close values given (property)', (t) => {
  const body = fc.record(
    {
      kind: fc.constantFrom(...kinds),
      dir: fc.constantFrom<LineData['dir']>('c', 's', 'm'),
      text: fc.oneof(lineText, fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 200 })),
      bytes: fc.oneof(fc.integer(), fc.double(), fc.constant(-0), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 60)),
      cut: fc.nat(),
      payload: payloadText,
      payloadBytes: fc.oneof(fc.nat(), fc.maxSafeInteger()),
      payloadLater: fc.constant<true>(true),
      encrypted: fc.boolean(),
      note: fc.oneof(fc.constantFrom(...Object.values(LINE_NOTES)), text),
      skipped: fc.nat(),
      request: fc.record({
        method: fc.constantFrom('GET', 'POST'),
        path: fc.oneof(text, fc.string({ unit: 'grapheme', maxLength: 300 })),
        ms: fc.oneof(fc.integer(), fc.double()),
      }),
      handshake: fc.boolean(),
    },
    { requiredKeys: ['kind', 'text'] },
  );
  fc.assert(
    fc.property(fc.array(body, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, giveArgs) => {
      for (const b of lines) {
        const l = { seq: 1, session: 's-1', t: 1, ...b } as LineData;
        const args = giveArgs && (l.kind === 'open' || l.kind === 'close') ? textArgsJson(l.kind, l.text) : undefined;
        checkBody(t, l, args);
      }
    }),
  );
  t.pass();
});

test('openArgsPlain, when it holds, means the open line text parses back into exactly its values (property)', (t) => {
  // Parts with the characters the sentence is made of: spaces, colons, digits, brackets, " to ".
  const part = fc.oneof(
    fc.constantFrom('127.0.0.1', '::1', '10.0.0.5', 'fe80::1%eth0', 'http', 'imaps', ''),
    fc
      .array(fc.constantFrom('a', '1', ':', ' ', ')', '(', ' to ', ':80', ', TLS from the first byte', '\n', '"', 'é'), { maxLength: 8 })
      .map((a) => a.join('')),
  );
  const aPort = fc.oneof(fc.nat({ max: 65535 }), fc.integer(), fc.double(), fc.constant(-0), fc.maxSafeInteger());
  let given = 0;
  fc.assert(
    fc.property(part, aPort, part, aPort, part, fc.boolean(), (peer, peerPort, local, localPort, listener, tls) => {
      if (!openArgsPlain(peer, peerPort, local, localPort, listener)) return;
      given++;
      const json = JSON.stringify([peer, peerPort, local, localPort, listener, tls ? 1 : 0]);
      const text = openLineText(peer, peerPort, local, localPort, listener, tls);
      t.is(json, JSON.stringify(textArgs('open', text)));
      t.is(json, textArgsJson('open', text) ?? 'none');
      // encodeLine given the values writes what it writes parsing the text.
      for (const note of [undefined, LINE_NOTES.open, LINE_NOTES.openTls]) {
        const l: LineData = { seq: 1, session: 's-1', t: 1, kind: 'open', dir: 'm', text, note };
        const want = lineBody(l);
        t.is(lineBody(l, { peer, peerPort, local, localPort, listener, tls }), want);
      }
    }),
    { numRuns: 2000 },
  );
  // Not vacuous: most plain parts give values.
  t.true(given > 100, `${given}`);
});
