// DNS messages as the live lab shows them: a one-line summary (as dig would sum it up) and the decoded
// fields (header flags, question, answer, authority, additional, EDNS) for 'packet' events. Built only
// when a subscriber wants packet events.
import { headerView, opcodeName, rcodeName } from './header.js';
import { decodeMessage, ednsOf, fullRcode, type DnsMessage, type ResourceRecord } from './message.js';
import { fqdn } from './names.js';
import { className, codecFor, EDNS_OPTION_NAMES, TYPE, typeName } from './records.js';
import { DnsWireError } from './wire-error.js';

export interface DescribedRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: string;
}

function describeRecord(rr: ResourceRecord): DescribedRecord {
  return { name: fqdn(rr.name), type: typeName(rr.type), class: className(rr.class), ttl: rr.ttl, data: codecFor(rr.type).format(rr.data) };
}

function flagList(m: DnsMessage): string[] {
  const f = m.flags;
  return (['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const).filter((k) => f[k]);
}

export function describeMessage(buf: Uint8Array, transport: 'udp' | 'tcp'): { summary: string; fields: Record<string, unknown> } {
  let m: DnsMessage;
  try {
    m = decodeMessage(buf);
  } catch (err) {
    const e = err instanceof DnsWireError ? err : new DnsWireError('BAD_VALUE', String(err));
    const id = buf.length >= 2 ? `0x${((buf[0] << 8) | buf[1]).toString(16).padStart(4, '0')}` : undefined;
    return {
      summary: `malformed message (${e.code}: ${e.message})`,
      fields: {
        transport,
        length: buf.length,
        ...(id ? { id } : {}),
        header: headerView(buf),
        error: { code: e.code, message: e.message, offset: e.offset },
        octets: Buffer.from(buf.subarray(0, 64)).toString('hex'),
      },
    };
  }
  const q = m.questions[0];
  const edns = ednsOf(m);
  const rcode = fullRcode(m);
  const id = `0x${m.id.toString(16).padStart(4, '0')}`;
  const question = q ? `${typeName(q.type)} ${fqdn(q.name)}` : '(no question)';
  let summary: string;
  if (!m.flags.qr) {
    summary = `query ${id} ${question}${m.flags.rd ? ' +rd' : ''}${edns ? ` edns udp=${edns.udpSize}` : ''} (${transport})`;
  } else {
    const shown = m.answers.slice(0, 3).map((a) => codecFor(a.type).format(a.data));
    const more = m.answers.length > 3 ? ` +${m.answers.length - 3} more` : '';
    summary =
      `response ${id} ${rcodeName(rcode)}${m.flags.aa ? ' aa' : ''}${m.flags.tc ? ' tc' : ''} ${question}` +
      (m.answers.length ? ` -> ${shown.join(', ')}${more}` : '') +
      ` (${transport}, ${buf.length} octets)`;
  }
  return {
    summary,
    fields: {
      transport,
      length: buf.length,
      id,
      qr: m.flags.qr ? 'response' : 'query',
      opcode: opcodeName(m.flags.opcode),
      flags: flagList(m),
      aa: m.flags.aa,
      tc: m.flags.tc,
      rd: m.flags.rd,
      ra: m.flags.ra,
      ad: m.flags.ad,
      cd: m.flags.cd,
      rcode: rcodeName(rcode),
      header: headerView(buf),
      question: m.questions.map((x) => ({ name: fqdn(x.name), type: typeName(x.type), class: className(x.class) })),
      answer: m.answers.map(describeRecord),
      authority: m.authorities.map(describeRecord),
      additional: m.additionals.filter((r) => r.type !== TYPE.OPT).map(describeRecord),
      ...(edns
        ? {
            edns: {
              version: edns.version,
              udpSize: edns.udpSize,
              do: edns.do,
              extendedRcode: edns.extendedRcode,
              options: edns.options.map((o) => ({ code: o.code, name: EDNS_OPTION_NAMES[o.code] ?? `option ${o.code}`, length: o.data.length })),
            },
          }
        : {}),
    },
  };
}
