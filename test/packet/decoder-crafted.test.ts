// Decoder correctness against tshark on crafted frames: VLAN and QinQ tags, every TCP option, IPv4
// options and fragments, ICMP and ICMPv6 errors quoting their datagram, ARP probes, DHCP, 802.3, bad
// and offloaded checksums, frames cut short by the snap length. Every field labnet shows must be one
// tshark shows, at the same bytes and bits, with the same value.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaptureFile } from '../../core/packet/capture-stream.js';
import { decodeFrame } from '../../core/packet/decode-frame.js';
import { readFileSync } from 'node:fs';
import { craftedFrames } from './crafted-frames.js';
import { writeCapture } from './craft.js';
import { compareFrame, mergeCounts } from './oracle.js';
import { tsharkFields } from './tshark.js';

test('every field of every crafted frame agrees with tshark', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-packet-'));
  try {
    const frames = craftedFrames();
    const file = join(dir, 'crafted.pcapng');
    writeCapture(file, frames);
    const theirs = await tsharkFields(file);
    const records = readCaptureFile(readFileSync(file));
    t.is(theirs.length, frames.length);
    t.is(records.length, frames.length);
    const counts = new Map<string, number>();
    const mismatches: string[] = [];
    records.forEach((r, i) => {
      const ours = decodeFrame(r.data, r.linkType, r.originalLength, { timeUs: r.timeUs });
      const c = compareFrame(ours, theirs[i], `#${i + 1} ${frames[i].label}`);
      mergeCounts(counts, c.compared);
      mismatches.push(...c.mismatches);
    });
    t.deepEqual(mismatches, []);
    // The corpus exercises what it claims to.
    for (const id of [
      'vlan.id',
      'vlan.priority',
      'vlan.dei',
      'vlan.etype',
      'tcp.options.mss_val',
      'tcp.options.wscale.shift',
      'tcp.options.sack_le',
      'tcp.options.sack_re',
      'tcp.options.timestamp.tsval',
      'tcp.options.eol',
      'tcp.flags.urg',
      'tcp.urgent_pointer',
      'tcp.checksum.status',
      'ip.checksum.status',
      'ip.opt.ptr',
      'ip.rec_rt',
      'ip.opt.ra',
      'ip.opt.flag',
      'ip.frag_offset',
      'ip.flags.mf',
      'ip.flags.rb',
      'ip.dsfield.ecn',
      'arp.opcode',
      'arp.dst.proto_ipv4',
      'icmp.mtu',
      'icmp.redir_gw',
      'icmp.pointer',
      'icmpv6.mtu',
      'icmpv6.nd.ns.target_address',
      'icmpv6.nd.na.flag.s',
      'ipv6.flow',
      'ipv6.tclass.dscp',
      'dhcp.id',
      'dhcp.hw.mac_addr',
      'eth.padding',
      'eth.len',
      'udp.checksum.status',
    ]) {
      t.true((counts.get(id) ?? 0) > 0, `the crafted corpus compares ${id}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checksums: offloaded, wrong and absent are told apart', (t) => {
  const byLabel = new Map(craftedFrames().map((f) => [f.label, f]));
  const check = (label: string, id: string) => {
    const f = byLabel.get(label)!;
    const d = decodeFrame(f.data, 1, f.originalLength ?? f.data.length);
    return d.layers.flatMap((l) => l.fields).find((x) => x.id === id)?.check;
  };
  t.is(check('tcp offloaded', 'tcp.checksum')?.status, 'offloaded');
  t.regex(check('tcp offloaded', 'tcp.checksum')!.text, /network card/);
  t.is(check('tcp bad checksum', 'tcp.checksum')?.status, 'bad');
  t.is(check('ip bad checksum', 'ip.checksum')?.status, 'bad');
  t.is(check('udp no checksum', 'udp.checksum')?.status, 'none');
  t.is(check('fragment first', 'udp.checksum')?.status, 'unverified');
  t.is(check('qinq tcp syn', 'tcp.checksum')?.status, 'good');
});

test('truncated frames keep what was captured and say what is missing', (t) => {
  const byLabel = new Map(craftedFrames().map((f) => [f.label, f]));
  const f = byLabel.get('truncated in tcp header')!;
  const d = decodeFrame(f.data, 1, f.originalLength);
  t.true(d.truncated);
  t.deepEqual(
    d.layers.map((l) => l.id),
    ['eth', 'ip', 'tcp'],
  );
  t.true(d.problems.some((p) => /TCP header cut short/.test(p)));
  t.deepEqual(
    d.layers[2].fields.map((x) => x.id),
    ['tcp.srcport', 'tcp.dstport'],
  );
  const cut = byLabel.get('truncated payload')!;
  const e = decodeFrame(cut.data, 1, cut.originalLength).encapsulation;
  const payload = e.find((p) => p.name.endsWith('data'))!;
  t.is(payload.length, 1000);
  t.is(payload.captured, 96 - 66);
  t.is(e.at(-1)!.name, 'Frame check sequence (CRC)');
  t.is(e.at(-1)!.captured, 0);
});
