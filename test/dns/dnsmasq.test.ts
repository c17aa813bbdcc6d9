// The same questions to labnet's DNS and to dnsmasq (the reference, authoritative mode) serving the
// same zone (reference-zone.ts), compared field by field as dig reads them: status, flags, every
// answer record (name, TTL, class, type, data), the SOA of negative answers, EDNS. Differences that are
// choices, not mistakes, are left out of the comparison and named here:
//  - dnsmasq adds the zone's NS to the authority section of positive answers; labnet sends minimal
//    answers (RFC 1034 does not require it).
//  - labnet adds the A/AAAA of MX and SRV targets as additional records (RFC 1035 section 3.3.9,
//    RFC 2782); dnsmasq does not in this mode.
//  - A "not available" SRV is "0 0 0 ." in labnet and "0 0 1 ." in dnsmasq: with target "." the other
//    fields mean nothing (RFC 2782); only the target is compared.
//  - dnsmasq leaves OPT out of REFUSED answers; labnet includes it (RFC 6891 section 7).
//  - ANY: dnsmasq answers nothing (RFC 8482 style, EDE 17), labnet every record set; not compared.
//  - SOA serials differ (each server numbers its own zone).
import test from 'ava';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { freePort } from '../support/bench-util.js';
import { dig, type DigResult } from './dig.js';
import { labnetDnsConfig, SPEC_DEFAULTS, startDnsmasq, specFromLab, type Dnsmasq } from './reference-zone.js';

let lab: LabProcess;
let dm: Dnsmasq;
let dmPort: number;

test.before(async () => {
  lab = await startLabProcess({
    only: ['dns', 'smtp', 'imap', 'pop3'],
    config: { services: { dns: labnetDnsConfig({ ...SPEC_DEFAULTS, srv: {} }, 0), pop3: { pop3s: false } } },
  });
  const spec = specFromLab(lab.ports);

  dmPort = await freePort();
  dm = await startDnsmasq(spec, '127.0.0.1', dmPort);
});

test.after.always(async () => {
  await dm?.stop();
  if (lab) {
    await lab.stop();
    lab.cleanup();
  }
});

/** What is compared: see the header comment for what is not. */
function comparable(r: DigResult) {
  const row = (x: DigResult['answer'][number]) => {
    let data = x.data;
    if (x.type === 'SRV' && data.endsWith(' .')) data = '.';
    if (x.type === 'SOA')
      data = data
        .split(' ')
        .filter((_, i) => i !== 2)
        .join(' ');
    return `${x.name.toLowerCase()} ${x.ttl} ${x.class} ${x.type} ${data}`;
  };
  return {
    status: r.status,
    flags: [...r.flags].sort(),
    answer: r.answer.map(row).sort(),
    negativeAuthority: r.answer.length === 0 ? r.authority.map(row) : 'not compared',
    edns: r.status === 'REFUSED' ? 'not compared' : r.edns,
    transport: r.transport,
  };
}

const QUESTIONS: string[][] = [
  ...['labnet.lab.test', 'lab.test', 'mail.lab.test', 'www.lab.test', 'autoconfig.lab.test', 'autodiscover.lab.test'].flatMap((n) => [
    [n, 'A'],
    [n, 'AAAA'],
  ]),
  ['LabNet.Lab.TEST', 'A'],
  ['lab.test', 'MX'],
  ['lab.test', 'NS'],
  ['lab.test', 'SOA'],
  ...['_submission', '_submissions', '_imap', '_imaps', '_pop3', '_pop3s'].map((s) => [`${s}._tcp.lab.test`, 'SRV']),
  ['-x', '192.0.2.10'],
  ['-x', '192.0.2.99'],
  ['-x', '2001:db8::10'],
  ['nothere.lab.test', 'A'],
  ['deep.nothere.lab.test', 'AAAA'],
  ['mail.lab.test', 'MX'],
  ['_tcp.lab.test', 'A'],
  ['lab.test', 'TXT'],
  ['labnet.lab.test', 'SRV'],
  ['example.com', 'A'],
  ['www.debian.org', 'AAAA'],
  ['-x', '8.8.8.8'],
];

for (const question of QUESTIONS) {
  test(`dig ${question.join(' ')}: labnet answers as dnsmasq does`, async (t) => {
    // RD set (+rec) matters most where the answer is REFUSED; asked for those and the host name.
    const rec = ['example.com', 'www.debian.org', '8.8.8.8', 'labnet.lab.test'].includes(question[question.length - 2] ?? '') || question[0] === '-x';
    for (const extra of rec ? [['+norec'], ['+rec'], ['+tcp']] : [['+norec'], ['+tcp']]) {
      const [ours, theirs] = await Promise.all([dig('127.0.0.1', lab.port('dns'), [...question, ...extra]), dig('127.0.0.1', dmPort, [...question, ...extra])]);
      t.not(ours.status, 'NONE', `labnet answered ${question.join(' ')} ${extra.join(' ')}: ${ours.raw}`);
      t.deepEqual(comparable(ours), comparable(theirs), `${question.join(' ')} ${extra.join(' ')}`);
    }
  });
}
