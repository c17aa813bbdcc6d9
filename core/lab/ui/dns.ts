// DNS: the lab DNS server's queries and answers, per student machine (by client address), each
// exchange opening to its header flags, question and answer, authority and additional sections. The
// DNS service publishes every packet decoded (services/dns/describe.ts); a student sees their own
// address's queries (the hub filters), an instructor everyone's.
import type { PacketData } from '../wire.js';
import { h } from './dom.js';
import { clockMs } from './format.js';
import { fieldTable } from './ladder.js';
import { navigate } from './router.js';
import { loginFirst } from './sessions.js';
import { store } from './store.js';

interface DnsRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: string;
}

interface Exchange {
  key: string;
  address: string;
  port: number;
  id: string;
  query?: PacketData;
  response?: PacketData;
  t: number;
}

const FLAG_NOTES: Record<string, string> = {
  qr: 'query (0) or response (1)',
  aa: 'authoritative answer: the server owns this name (the lab zone)',
  tc: 'truncated: the answer did not fit in the UDP datagram, ask again over TCP',
  rd: 'recursion desired: the client asks the server to find the answer for it',
  ra: 'recursion available: this server offers to',
  ad: 'authentic data (DNSSEC)',
  cd: 'checking disabled (DNSSEC)',
};

const RCODE_NOTES: Record<string, string> = {
  NOERROR: 'no error: the answer section holds the records asked for (it may be empty: the name exists, not with that type)',
  NXDOMAIN: 'no such name in the lab zone',
  REFUSED: 'the server does not answer this question (a name outside the lab, and no forwarding)',
  FORMERR: 'the query was not a well-formed DNS message',
  SERVFAIL: 'the server could not answer',
};

/** What a record type holds, for the line of an answer without records. */
const TYPE_MEANING: Record<string, string> = {
  A: 'IPv4 address',
  AAAA: 'IPv6 address',
  MX: 'mail server (MX)',
  PTR: 'name for this address',
  SRV: 'service record of that kind',
  TXT: 'text record',
  NS: 'name server of its own',
  CNAME: 'alias',
};

const openKeys = new Set<string>();

/** A decoded field as text (only strings and numbers are shown). */
function str(v: unknown, missing = ''): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : missing;
}

function fields(p: PacketData | undefined): Record<string, unknown> {
  return (p?.fields ?? {}) as Record<string, unknown>;
}

function records(x: unknown): DnsRecord[] {
  return Array.isArray(x) ? (x as DnsRecord[]).slice(0, 50) : [];
}

/** Queries and their responses, paired by client address, port and message id. */
function exchanges(packets: readonly PacketData[]): Exchange[] {
  const byKey = new Map<string, Exchange>();
  const out: Exchange[] = [];
  for (const p of packets) {
    if (p.service !== 'dns') continue;
    const id = str(fields(p).id, '?');
    const key = `${p.peer.address}|${p.peer.port}|${id}`;
    let x = byKey.get(key);
    if (!x || (p.dir === 'in' && x.query) || (p.dir === 'out' && x.response)) {
      x = { key: `${key}|${p.seq}`, address: p.peer.address, port: p.peer.port, id, t: p.t };
      byKey.set(key, x);
      out.push(x);
    }
    if (p.dir === 'in') x.query = p;
    else x.response = p;
  }
  return out;
}

function question(x: Exchange): string {
  const q = fields(x.query ?? x.response).question;
  const first = Array.isArray(q) ? (q[0] as { name?: string; type?: string } | undefined) : undefined;
  return first ? `${first.type ?? '?'} ${first.name ?? '?'}` : '(no question)';
}

function questionType(x: Exchange): string {
  const q = fields(x.query ?? x.response).question;
  const first = Array.isArray(q) ? (q[0] as { type?: string } | undefined) : undefined;
  return typeof first?.type === 'string' ? first.type : '?';
}

/**
 * An answer with no records, said as the course says it: NOERROR with an empty answer section is
 * NODATA (RFC 2308 section 2.2), the name exists without that type; NXDOMAIN is no such name.
 */
function emptyAnswer(rcode: string, type: string): string {
  if (rcode === 'NOERROR') {
    const meaning = TYPE_MEANING[type];
    return `no ${type} record for this name (NODATA): the name exists${meaning ? `, it has no ${meaning}` : ', not with that type'}`;
  }
  if (rcode === 'NXDOMAIN') return 'no such name in the lab zone';
  if (rcode === 'REFUSED') return 'not answered: the lab DNS answers only for lab names';
  return '(no records)';
}

/** The explanation under the header of a NODATA answer. */
function nodataNote(type: string, authority: DnsRecord[]): string {
  const line = emptyAnswer('NOERROR', type).replace('(NODATA)', '(NODATA, RFC 2308 section 2.2)');
  const soa = authority.some((a) => a.type === 'SOA')
    ? ' The SOA record under Authority tells resolvers how long they may remember that (RFC 2308 section 5).'
    : '';
  return `Answer: none. ${line.charAt(0).toUpperCase()}${line.slice(1)}.${soa}`;
}

function recordTable(title: string, list: DnsRecord[]): HTMLElement[] {
  if (list.length === 0) return [];
  return [
    h('h4', null, `${title} (${list.length})`),
    fieldTable(
      ['name', 'type', 'class', 'TTL', 'data'],
      list.map((r) => [h('span', { class: 'mono' }, r.name), h('b', null, r.type), r.class, `${r.ttl} s`, h('span', { class: 'mono' }, r.data)]),
      'records',
    ),
  ];
}

function header(p: PacketData, what: string): HTMLElement[] {
  const f = fields(p);
  const flags = Array.isArray(f.flags) ? (f.flags as string[]) : [];
  const rows = [
    ['id', str(f.id), 'ties the answer to its query (the client picks it)'],
    ['opcode', str(f.opcode), 'QUERY: a standard question'],
    ...(['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const).map((k) => [k, flags.includes(k) ? '1' : '0', FLAG_NOTES[k]]),
  ];
  if (f.qr === 'response') rows.push(['rcode', str(f.rcode), RCODE_NOTES[str(f.rcode)] ?? '']);
  return [
    h('h4', null, `${what}: header (RFC 1035 section 4.1.1)`),
    fieldTable(
      ['field', 'value', 'what it means'],
      rows.map(([a, b, c]) => [h('b', null, a), h('span', { class: 'mono' }, b), h('span', { class: 'note-cell' }, c)]),
      'dns-header',
    ),
  ];
}

function details(x: Exchange): HTMLElement {
  const q = fields(x.query);
  const r = fields(x.response);
  const questions = (Array.isArray(q.question) ? q.question : Array.isArray(r.question) ? r.question : []) as Array<{
    name: string;
    type: string;
    class: string;
  }>;
  return h(
    'div',
    { class: 'dns-details' },
    h(
      'p',
      { class: 'muted' },
      `from ${x.address}:${x.port} over ${str(q.transport ?? r.transport, 'udp').toUpperCase()} to port 53 · query ${str(q.length, '?')} octets, answer ${str(r.length, '—')} octets${r.cached === true ? ' (answer from cache)' : ''}`,
    ),
    h('h4', null, 'Question'),
    fieldTable(
      ['name', 'type', 'class'],
      questions.slice(0, 10).map((qq) => [h('span', { class: 'mono' }, qq.name), h('b', null, qq.type), qq.class]),
      'question',
    ),
    x.query ? header(x.query, 'Query') : null,
    x.response ? header(x.response, 'Response') : h('p', { class: 'muted' }, 'No answer was sent (the query was dropped).'),
    x.response && records(r.answer).length === 0 && str(r.rcode) === 'NOERROR'
      ? h('p', { class: 'dns-nodata' }, nodataNote(questionType(x), records(r.authority)))
      : null,
    ...recordTable('Answer', records(r.answer)),
    ...recordTable('Authority', records(r.authority)),
    ...recordTable('Additional', records(r.additional)),
  );
}

function exchangeRow(x: Exchange): HTMLElement {
  const r = fields(x.response);
  const answers = records(r.answer);
  const rcode = x.response ? str(r.rcode) : 'no answer';
  const box = h('div', { class: 'dns-box' });
  const btn = h(
    'button',
    { type: 'button', class: 'dns-line', aria: { expanded: openKeys.has(x.key) ? 'true' : 'false' } },
    h('span', { class: 't' }, clockMs(x.t)),
    h('span', { class: 'mono q' }, question(x)),
    h('span', { class: `pill ${rcode === 'NOERROR' ? 'ok' : rcode === 'NXDOMAIN' ? 'warn' : 'off'}` }, rcode),
    answers.length > 0
      ? h('span', { class: 'mono a' }, answers.map((a) => a.data).join(', '))
      : h('span', { class: 'a empty-answer' }, x.response ? emptyAnswer(rcode, questionType(x)) : ''),
  );
  if (openKeys.has(x.key)) box.append(details(x));
  btn.addEventListener('click', () => {
    const open = openKeys.has(x.key);
    if (open) openKeys.delete(x.key);
    else openKeys.add(x.key);
    btn.setAttribute('aria-expanded', String(!open));
    box.replaceChildren(...(open ? [] : [details(x)]));
  });
  return h('li', { class: 'dns-exchange', data: { id: x.id } }, btn, box);
}

export function dnsView(selected: string | undefined): HTMLElement {
  if (store.viewer.role === 'anonymous') return loginFirst('your DNS queries');
  const all = exchanges(store.packets);
  const byAddress = new Map<string, Exchange[]>();
  for (const x of all) {
    const list = byAddress.get(x.address) ?? [];
    list.push(x);
    byAddress.set(x.address, list);
  }
  const addresses = [...byAddress.keys()].sort((a, b) => byAddress.get(b)!.at(-1)!.t - byAddress.get(a)!.at(-1)!.t);
  const address = selected && byAddress.has(selected) ? selected : addresses[0];
  const list = address ? [...byAddress.get(address)!].reverse() : [];
  return h(
    'section',
    { class: 'view dns' },
    h(
      'div',
      { class: 'view-head' },
      h('h2', null, 'DNS'),
      h(
        'p',
        { class: 'muted' },
        'How a name becomes an address: the client sends a query (UDP port 53) with an id, flags and a question; the lab DNS answers with the same id, its own flags, a response code and the records it knows.',
      ),
    ),
    addresses.length === 0
      ? h(
          'p',
          { class: 'empty' },
          store.viewer.role === 'instructor'
            ? 'No DNS queries yet. Ask the lab DNS, e.g. dig @<lab address> mail.lab.test'
            : 'No DNS query from your machine yet (try dig or nslookup against the lab DNS).',
        )
      : h(
          'div',
          { class: 'dhcp-layout' },
          h(
            'nav',
            { class: 'mac-list', aria: { label: 'clients by address' } },
            addresses.map((a) => {
              const xs = byAddress.get(a)!;
              return h(
                'a',
                {
                  href: `#/dns/${encodeURIComponent(a)}`,
                  class: a === address ? 'active' : '',
                  data: { address: a },
                  onclick: (ev: Event) => {
                    ev.preventDefault();
                    navigate(`#/dns/${encodeURIComponent(a)}`);
                  },
                },
                h('span', { class: 'mono' }, a),
                h('small', null, `${xs.length} ${xs.length === 1 ? 'query' : 'queries'} · last ${question(xs.at(-1)!)}`),
              );
            }),
          ),
          h(
            'div',
            { class: 'dns-list' },
            h('h3', null, h('span', { class: 'mono' }, address ?? '')),
            h('ol', { class: 'dns-exchanges' }, list.slice(0, 200).map(exchangeRow)),
          ),
        ),
  );
}
