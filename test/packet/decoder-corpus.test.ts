// Decoder correctness against tshark on a corpus captured in this test: a real labnet (HTTP, HTTPS,
// SMTP with STARTTLS, IMAP, DHCP) in one network namespace with its packet capture on the lab bridge,
// real clients in another (udhcpc, curl, Python's smtplib with STARTTLS, Python's imaplib, arping, ping with record-route and
// timestamp options, ping -s 3000 for fragments, ping -6). The corpus is labnet's own
// /lab/capture.pcapng (so the capture filter, the export and the decoder are all on trial) plus a
// dumpcap run with a 96-byte snap length beside it (truncated frames, in the classic pcap format).
// Root only (network namespaces).
import test from 'ava';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureFile } from '../../core/packet/capture-stream.js';
import { decodeFrame } from '../../core/packet/decode-frame.js';
import { udhcpcOnce } from '../dhcp/clients.js';
import { isRoot, NetnsFixture, waitFor } from '../dhcp/netns-fixture.js';
import { startNetnsLab, USERS } from './netns-lab.js';
import { compareFrame, mergeCounts } from './oracle.js';
import { tsharkFields } from './tshark.js';

const PREFIX = '10.66.0';

test.serial('every field of a real lab corpus agrees with tshark', async (t) => {
  if (!isRoot()) {
    t.pass('skipped: needs root for network namespaces');
    return;
  }
  const fx = new NetnsFixture(PREFIX);
  try {
    const link = fx.addLink();
    const S = fx.serverNs;
    const C = fx.clientNs;
    await fx.run(S, ['ip', 'addr', 'add', 'fd00:66::1/64', 'dev', fx.bridge, 'nodad']);
    await fx.run(C, ['ip', 'addr', 'add', 'fd00:66::2/64', 'dev', link.name, 'nodad']);
    const truncatedFile = fx.path('truncated.pcap');
    const dumpcap = fx.spawnIn(S, ['dumpcap', '-q', '-P', '-i', fx.bridge, '-s', '96', '-w', truncatedFile]);
    const lab = await startNetnsLab(fx);
    t.teardown(() => void lab.stop());
    t.true(await waitFor(() => existsSync(truncatedFile), 10_000), 'the snap-length capture runs');

    // DHCP: the client gets its address from labnet.
    const dhcp = await udhcpcOnce(fx, link, { tag: 'corpus', arpCheck: true });
    const bound = dhcp.events.find((e) => e.event === 'bound');
    t.truthy(bound, `udhcpc got a lease: ${dhcp.run.stderr}`);
    const server = `${PREFIX}.1`;
    const ok = async (args: string[], what: string): Promise<string> => {
      const r = await fx.run(C, args, 30_000);
      t.is(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    await ok(['curl', '-sS', '-o', '/dev/null', `http://${server}:${lab.ports.http}/hello.txt`], 'curl http');
    await ok(['curl', '-sSk', '-o', '/dev/null', `https://${server}:${lab.ports['http/https']}/`], 'curl https');
    await ok(
      [
        'python3',
        '-c',
        `import smtplib, ssl; s = smtplib.SMTP('${server}', ${lab.ports.smtp}); s.starttls(context=ssl._create_unverified_context()); ` +
          `s.sendmail('bob@lab.test', ['alice@lab.test'], 'Subject: corpus\\r\\n\\r\\nhello'); s.quit()`,
      ],
      'smtplib STARTTLS',
    );
    await ok(
      [
        'python3',
        '-c',
        `import imaplib; m = imaplib.IMAP4('${server}', ${lab.ports.imap}); m.login('${USERS[0].name}', '${USERS[0].password}'); m.select(); m.logout()`,
      ],
      'imaplib',
    );
    await ok(['arping', '-c', '2', '-I', link.name, server], 'arping');
    await ok(['ping', '-c', '1', '-R', server], 'ping -R');
    await ok(['ping', '-c', '1', '-T', 'tsonly', server], 'ping -T tsonly');
    await ok(['ping', '-c', '1', '-s', '3000', server], 'ping -s 3000 (fragments)');
    await ok(['ping', '-6', '-c', '1', 'fd00:66::1'], 'ping -6');
    const exportFile = fx.path('export.pcapng');
    // dumpcap hands frames on in blocks, so on a busy machine the last exchanges can reach labnet a
    // moment after the clients finished: download until the export holds the last one (the ping -6
    // reply, ICMPv6 type 129), which the pipe delivers after every earlier frame.
    const hasEchoReply6 = (): boolean =>
      readCaptureFile(readFileSync(exportFile)).some((r) => r.data[12] === 0x86 && r.data[13] === 0xdd && r.data[20] === 58 && r.data[54] === 129);
    const until = Date.now() + 15_000;
    let complete = false;
    while (!complete && Date.now() < until) {
      await ok(
        ['curl', '-sS', '-u', `${USERS[0].name}:${USERS[0].password}`, '-o', exportFile, `http://${server}:${lab.ports.http}/lab/capture.pcapng`],
        'the instructor download',
      );
      complete = hasEchoReply6();
    }
    t.true(complete, 'the export holds the last exchange');
    await lab.stop();
    dumpcap.kill('SIGTERM');
    await new Promise((r) => (dumpcap.exitCode !== null ? r(null) : dumpcap.once('exit', r)));
    t.true(statSync(truncatedFile).size > 1000);

    const counts = new Map<string, number>();
    const mismatches: string[] = [];
    let truncated = 0;
    for (const file of [exportFile, truncatedFile]) {
      const theirs = await tsharkFields(file);
      const records = readCaptureFile(readFileSync(file));
      t.is(records.length, theirs.length, `${file}: same number of frames`);
      records.forEach((r, i) => {
        const ours = decodeFrame(r.data, r.linkType, r.originalLength, { timeUs: r.timeUs });
        if (ours.truncated) truncated++;
        const c = compareFrame(ours, theirs[i], `${file.endsWith('.pcap') ? 'truncated' : 'export'} #${i + 1} ${ours.summary}`);
        mergeCounts(counts, c.compared);
        mismatches.push(...c.mismatches);
      });
    }
    t.deepEqual(mismatches.slice(0, 40), []);
    t.true(truncated > 10, 'the 96-byte capture cut frames short');
    for (const id of [
      'dhcp.id',
      'dhcp.hw.mac_addr',
      'arp.opcode',
      'arp.src.proto_ipv4',
      'ip.rec_rt',
      'ip.opt.ptr',
      'ip.opt.flag',
      'ip.frag_offset',
      'ip.flags.mf',
      'icmp.seq',
      'icmp.data_time',
      'icmpv6.echo.sequence_number',
      'tcp.options.mss_val',
      'tcp.options.wscale.shift',
      'tcp.options.timestamp.tsecr',
      'tcp.flags.fin',
      'tcp.flags.push',
      'tcp.payload',
      'tcp.checksum.status',
      'udp.checksum.status',
      'ipv6.src',
    ]) {
      t.true((counts.get(id) ?? 0) > 0, `the corpus compares ${id}`);
    }
    // Frames carry the labnet session they belong to as a pcapng comment.
    const comments = readFileSync(exportFile).toString('latin1');
    // HTTPS is the http service's TLS listener: its sessions are http-N too.
    for (const service of ['http', 'smtp', 'imap']) t.regex(comments, new RegExp(`session ${service}-\\d+`), `${service} frames are linked`);
  } finally {
    await fx.destroy();
  }
});

test.serial('the capture refuses nothing it should see and sees nothing else: only lab ports in the export', async (t) => {
  if (!isRoot()) {
    t.pass('skipped: needs root for network namespaces');
    return;
  }
  const fx = new NetnsFixture('10.67.0');
  try {
    const link = fx.addLink();
    await fx.run(fx.clientNs, ['ip', 'addr', 'add', '10.67.0.9/24', 'dev', link.name]);
    const lab = await startNetnsLab(fx, {}, 'http,dhcp');
    t.teardown(() => void lab.stop());
    // A service that is not labnet's, on the lab's own address, in the lab's namespace.
    const other = fx.spawnIn(fx.serverNs, ['python3', '-m', 'http.server', '--bind', '10.67.0.1', '18765'], { stdio: 'ignore' });
    let reached = false;
    for (let i = 0; i < 50 && !reached; i++) {
      const r = await fx.run(fx.clientNs, ['curl', '-s', '-m', '2', '-o', '/dev/null', 'http://10.67.0.1:18765/'], 5000);
      reached = r.code === 0;
    }
    t.true(reached, 'the other server answered');
    const r = await fx.run(fx.clientNs, [
      'curl',
      '-sS',
      '-u',
      `${USERS[0].name}:${USERS[0].password}`,
      '-o',
      fx.path('only.pcapng'),
      `http://10.67.0.1:${lab.ports.http}/lab/capture.pcapng`,
    ]);
    t.is(r.code, 0, r.stderr);
    other.kill('SIGKILL');
    await lab.stop();
    const records = readCaptureFile(readFileSync(join(fx.dir, 'only.pcapng')));
    t.true(records.length > 0);
    for (const rec of records) {
      const d = decodeFrame(rec.data, rec.linkType, rec.originalLength);
      const ports = d.layers.filter((l) => l.id === 'tcp' && !l.quoted).flatMap((l) => [l.fields[0]?.raw, l.fields[1]?.raw]);
      t.false(ports.includes(18765), `frame not from the lab's ports was captured: ${d.summary}`);
    }
  } finally {
    await fx.destroy();
  }
});
