// The parts of the lab that are pure functions: the notes beside transcript lines (in the course's
// words, and right where the course is loose), the server-sent events framing and parser (property
// tested against arbitrary chunking), the DHCP field view over packets the DHCP service really
// describes, the lease table, and terminal-safe output for `labnet watch`.
import test from 'ava';
import { summaryOf } from './lab-client.js';
import fc from 'fast-check';
import { commandNote, NoteContext, replyNote } from '../../core/lab/notes.js';
import { sseFrame, SseParser, SseParseError, type SseEvent } from '../../core/lab/sse.js';
import { dhcpOptions, dhcpPacketView, LeaseTable } from '../../core/lab/dhcp-view.js';
import { terminalSafe, WatchPrinter } from '../../core/lab/watch.js';
import type { PacketEvent } from '../../core/events.js';
import type { LeaseRow } from '../../core/lab/wire.js';

type LeaseState = LeaseRow['state'];
import type { DhcpPacket } from '../../services/dhcp/packet.js';
import { chaddrOf, dhcpPacketEvent } from './dhcp-fixture.js';

function notesOf(service: string, lines: Array<['c' | 's', string]>): string[] {
  const ctx = new NoteContext(service);
  return lines.map(([d, text]) => (d === 'c' ? commandNote(ctx, text) : replyNote(ctx, text)));
}

test('SMTP notes explain codes in the course words and correct "SNMP"', (t) => {
  const n = notesOf('smtp', [
    ['s', '220 labnet.lab.test ESMTP labnet'],
    ['c', 'EHLO pc1'],
    ['s', '250-labnet.lab.test greets pc1\r\n250-PIPELINING\r\n250 STARTTLS'],
    ['c', 'STARTTLS'],
    ['s', '220 2.0.0 Ready to start TLS'],
    ['c', 'MAIL FROM:<a@lab.test>'],
    ['s', '250 2.1.0 Ok'],
    ['c', 'DATA'],
    ['s', '354 End data with <CR><LF>.<CR><LF>'],
    ['c', '<message data: 120 octets>'],
    ['s', '250 2.0.0 Ok: queued as ABC'],
    ['s', '535 5.7.8 Error: authentication failed'],
    ['s', '451 4.3.0 try later'],
    ['s', '599 odd'],
  ]);
  t.regex(n[0], /Simple Mail Transfer Protocol/);
  t.regex(n[0], /SNMP/);
  t.regex(n[0], /port 25/);
  t.regex(n[1], /greets/);
  t.regex(n[2], /250-/);
  t.regex(n[3], /TLS/);
  t.regex(n[4], /TLS handshake/, 'the 220 after STARTTLS is not the greeting');
  t.regex(n[5], /envelope sender/);
  t.regex(n[8], /"\."/, '354: end with a dot');
  t.regex(n[9], /dot-stuffing/);
  t.regex(n[10], /stored/);
  t.regex(n[11], /wrong user name or password/i);
  t.regex(n[12], /4xx = temporary/);
  t.regex(n[13], /permanent failure/);
});

test('POP3 notes: deletion is the client’s choice, and happens at QUIT', (t) => {
  const n = notesOf('pop3', [
    ['s', '+OK labnet POP3 ready <1.2@lab>'],
    ['c', 'USER alice'],
    ['s', '+OK'],
    ['c', 'PASS <redacted>'],
    ['s', '+OK logged in'],
    ['c', 'RETR 1'],
    ['s', '+OK message follows'],
    ['c', 'DELE 1'],
    ['s', '+OK marked'],
    ['c', 'QUIT'],
    ['s', '+OK bye'],
  ]);
  t.regex(n[0], /port 110/);
  t.regex(n[5], /client's choice/);
  t.regex(n[5], /course notes/);
  t.regex(n[7], /until QUIT/);
  t.regex(n[8], /only at QUIT/);
  t.regex(n[10], /removed now/);
});

test('IMAP notes: tags, untagged data, EXISTS, IDLE, the tagged answer', (t) => {
  const n = notesOf('imap', [
    ['s', '* OK [CAPABILITY IMAP4rev1] ready'],
    ['c', 'a1 SELECT INBOX'],
    ['s', '* 3 EXISTS'],
    ['s', 'a1 OK [READ-WRITE] SELECT completed'],
    ['c', 'a2 IDLE'],
    ['s', '+ idling'],
    ['s', '* 4 EXISTS'],
    ['c', 'DONE'],
    ['s', 'a2 OK IDLE terminated'],
    ['c', 'a3 UID FETCH 1:* (FLAGS)'],
    ['s', 'a3 NO no'],
    ['s', '2 FETCH responses (367 octets)'],
  ]);
  t.regex(n[0], /untagged/);
  t.regex(n[1], /"a1" is the tag/);
  t.regex(n[2], /holds 3 messages/);
  t.regex(n[3], /tagged answer to SELECT/);
  t.regex(n[5], /pushes|push/);
  t.regex(n[6], /4 messages/);
  t.regex(n[7], /Ends IDLE/);
  t.regex(n[8], /IDLE/);
  t.regex(n[9], /UID/);
  t.regex(n[10], /NO, the command failed/);
  t.regex(n[11], /one untagged/);
});

test('HTTP notes: request line and status classes', (t) => {
  const n = notesOf('https', [
    ['c', 'GET /index.html HTTP/1.1'],
    ['s', 'HTTP/1.1 404 Not Found'],
    ['c', 'BREW /pot HTTP/1.1'],
    ['c', 'garbage'],
    ['s', 'HTTP/1.1 304 Not Modified'],
  ]);
  t.regex(n[0], /method GET/);
  t.regex(n[0], /cookies/);
  t.regex(n[1], /4xx = client error/);
  t.regex(n[2], /does not know/);
  t.regex(n[3], /Not a valid/);
  t.regex(n[4], /cached copy/);
});

const eventArb = fc.record({
  event: fc.stringMatching(/^[a-z]{1,10}$/),
  data: fc.string({ maxLength: 200 }).map((s) => JSON.stringify({ s })),
  id: fc.option(fc.stringMatching(/^[0-9a-f]{1,8}\.[0-9]{1,6}$/), { nil: undefined }),
});

test('SSE frames parse back to the same events however the stream is cut (property)', (t) => {
  fc.assert(
    fc.property(fc.array(eventArb, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 50 }), fc.boolean(), (events, cuts, comments) => {
      let text = '';
      for (const e of events) {
        if (comments) text += ': keep-alive\n\n';
        text += sseFrame(e.event, e.data, e.id);
      }
      const got: SseEvent[] = [];
      const p = new SseParser((e) => got.push(e));
      let i = 0;
      for (const c of cuts) {
        if (i >= text.length) break;
        p.push(text.slice(i, i + c));
        i += c;
      }
      p.push(text.slice(i));
      t.deepEqual(
        got.map((e) => [e.event, e.data]),
        events.map((e) => [e.event, e.data]),
      );
      let last = '';
      events.forEach((e, k) => {
        if (e.id !== undefined) last = e.id;
        t.is(got[k].lastEventId, last);
      });
    }),
  );
});

test('the SSE parser follows the standard’s line rules and refuses an endless event', (t) => {
  const got: SseEvent[] = [];
  const p = new SseParser((e) => got.push(e));
  p.push('event:x\r\ndata:a\r');
  p.push('\ndata: b\r\rdata\n\n');
  t.deepEqual(
    got.map((e) => [e.event, e.data]),
    [
      ['x', 'a\nb'],
      ['message', ''],
    ],
  );
  const endless = new SseParser(() => {});
  t.throws(
    () => {
      for (let i = 0; i < 1000; i++) endless.push(`data: ${'z'.repeat(10_000)}\n`);
    },
    { instanceOf: SseParseError },
  );
});

function packet(type: number, over: Partial<DhcpPacket> = {}, options: Array<[number, number[]]> = []): PacketEvent {
  return dhcpPacketEvent(type, { xid: 0xcafe0001, flags: 0x8000, chaddr: chaddrOf(0xab, 0xcd, 0xef), ...over }, options, {
    peer: { address: '0.0.0.0', port: 68 },
  });
}

const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

test('the DHCP view shows every BOOTP field with offset and size, each option by number and name, and what the message does', (t) => {
  const offer = dhcpPacketView(
    packet(2, { yiaddr: ip(10, 0, 0, 100), siaddr: 0 }, [
      [1, [255, 255, 255, 0]],
      [3, [10, 0, 0, 1]],
      [51, [0, 0, 14, 16]],
      [54, [10, 0, 0, 1]],
      [12, [0x3c, 0x62, 0x3e]],
      [200, [1, 2]],
    ]),
    7,
  );
  t.is(offer.type, 'DHCPOFFER');
  t.is(offer.mac, '02:00:00:ab:cd:ef');
  t.regex(offer.sentence, /offers/);
  const names = offer.fields.map((f) => f.name);
  t.deepEqual(names, [
    'op',
    'htype',
    'hlen',
    'hops',
    'xid',
    'secs',
    'flags',
    'ciaddr',
    'yiaddr',
    'siaddr',
    'giaddr',
    'chaddr',
    'sname',
    'file',
    'magic cookie',
  ]);
  const f = Object.fromEntries(offer.fields.map((x) => [x.name, x]));
  t.is(f.op.value, '2 (BOOTREPLY)');
  t.is(f.flags.value, '0x8000 (broadcast bit set)');
  t.is(f.yiaddr.value, '10.0.0.100');
  t.is(f.yiaddr.offset, 16);
  t.is(f.chaddr.offset, 28);
  t.is(f.chaddr.size, 16);
  t.is(f['magic cookie'].offset, 236);
  t.true(offer.fields.every((x) => x.note.length > 10));
  const o = Object.fromEntries(offer.options.map((x) => [x.code, x]));
  t.is(offer.options[0].code, 53, 'the message type first');
  t.is(o[1].name, 'subnetMask');
  t.is(o[1].value, '255.255.255.0');
  t.is(o[51].value, '3600 s (1 h)');
  t.is(o[3].value, '10.0.0.1');
  t.is(o[12].value, '<b>', 'a host name with markup is data (the browser shows it as text)');
  t.is(o[200].name, 'option200');
  t.truthy(o[200].note);
});

test('the lease table follows DISCOVER, OFFER, REQUEST, ACK, then RELEASE', (t) => {
  const leases = new LeaseTable();
  const steps: Array<[PacketEvent, LeaseState | undefined]> = [
    [packet(1, {}, [[12, [...Buffer.from('pc1')]]]), undefined],
    [packet(2, { yiaddr: ip(10, 0, 0, 100) }), 'offered'],
    [packet(3, {}, [[50, [10, 0, 0, 100]]]), 'offered'],
    [packet(5, { yiaddr: ip(10, 0, 0, 100) }, [[51, [0, 0, 2, 88]]]), 'bound'],
    [packet(7, { ciaddr: ip(10, 0, 0, 100) }), 'released'],
  ];
  for (const [e, state] of steps) {
    const row = leases.apply(dhcpPacketView(e, 1), dhcpOptions(e));
    t.is(row?.state, state);
  }
  const [row] = leases.list(1_000_000);
  t.is(row.address, '10.0.0.100');
  t.is(row.hostname, undefined, 'the DISCOVER came before the row existed');
  t.is(leases.addressOf('02:00:00:ab:cd:ef'), '10.0.0.100');
  const bound = new LeaseTable();
  const ack = packet(5, { yiaddr: ip(10, 0, 0, 7) }, [
    [51, [0, 0, 0, 10]],
    [12, [...Buffer.from('pc2')]],
  ]);
  bound.apply(dhcpPacketView(ack, 1), dhcpOptions(ack));
  t.is(bound.list(1_000_000)[0].state, 'bound');
  t.is(bound.list(1_000_000)[0].hostname, 'pc2');
  t.is(bound.list(1_000_000 + 11_000)[0].state, 'expired');
});

test('labnet watch prints control characters from clients as visible text', (t) => {
  t.is(terminalSafe('EHLO \u001b[2J\u001b]0;pwned\u0007x\u009b'), 'EHLO ^[[2J^[]0;pwned^Gx\\x9b');
  t.is(terminalSafe('a\tb'), 'a\tb');
  let out = '';
  const printer = new WatchPrinter({
    notes: true,
    color: false,
    out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    user: 'alice',
  });
  const session = summaryOf({ id: 'smtp-1', peer: { address: '10.0.0.5', port: 5000 }, local: { address: '10.0.0.1', port: 25 } });
  const batch = (...items: Array<[string, unknown]>): void => printer.event({ event: 'batch', data: JSON.stringify(items), lastEventId: 'x.1' });
  // Commands travel without `dir` (it follows from the kind).
  batch(['session', session], ['line', { seq: 1, session: 'smtp-1', t: 0, kind: 'command', text: 'EHLO \u001b[31mred' }]);
  t.is(out, '', 'held back until the session shows whose it is');
  batch(['session', { ...session, user: 'alice' }]);
  t.regex(out, /smtp-1 alice@10\.0\.0\.5:5000 C: EHLO \^\[\[31mred/);
  t.regex(out, /# The client greets the server/, 'the note, worked out by watch itself');
  t.false(out.includes('\u001b'));
});
