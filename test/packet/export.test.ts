// pcapng exports: they open in tshark; a TLS session's file embeds its key log as a Decryption Secrets
// Block, so tshark decrypts HTTPS and SMTP after STARTTLS with no key-log file given; a session's file
// holds only that session's frames; the live view's API (flows, frames, ladder, frame detail) follows
// a real exchange and scopes a student to their own sessions. Root only (capture on loopback).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { startLabnet } from '../../app/index.js';
import type { ProtocolEvent, SessionOpenEvent } from '../../core/events.js';
import { decodeBlock, SECRETS_TLS_KEYLOG, type PcapngBlock } from '../../core/packet/pcapng.js';
import type { PacketCapture } from '../../core/packet/packet-capture.js';
import { TOKENS } from '../../core/tokens.js';
import { isRoot, sleep, waitFor } from '../dhcp/netns-fixture.js';
import { runTool } from '../tls/run-tool.js';
import { USERS } from './netns-lab.js';
import { runTshark, tsharkColumns } from './tshark.js';

/** tshark's TCP preference to reassemble segments in sequence order when they were captured out of order. */
const OUT_OF_ORDER = ['-o', 'tcp.reassemble_out_of_order:TRUE'];

function secretsOf(file: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  let le = true;
  while (at < file.length) {
    const r: { block: PcapngBlock; length: number } = decodeBlock(file, at, le)!;
    if (r.block.type === 'shb') le = r.block.littleEndian;
    if (r.block.type === 'dsb' && r.block.secretsType === SECRETS_TLS_KEYLOG) out.push(...r.block.data.toString('latin1').trim().split('\n'));
    at += r.length;
  }
  return out;
}

test.serial('a TLS session exported as pcapng decrypts in tshark with no key-log file; the live API follows it', async (t) => {
  if (!isRoot()) return void t.pass('skipped: capture needs root');
  const dir = mkdtempSync(join(tmpdir(), 'labnet-export-'));
  const lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    config: {
      listen: '127.0.0.1',
      dataDir: dir,
      users: USERS,
      instructors: ['alice'],
      capture: { enabled: true, interface: 'lo' },
      services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
    },
  });
  try {
    const capture = lab.get<PacketCapture>(TOKENS.Capture);
    t.is(capture.status().state, 'capturing');
    const opened: SessionOpenEvent[] = [];
    const frames: ProtocolEvent[] = [];
    lab.events.subscribe((e) => (e.type === 'session.open' ? opened.push(e) : frames.push(e)), { types: ['session.open', 'frame'] });

    const https = await runTool('curl', ['-sSk', '-o', '/dev/null', '-w', '%{local_port}', `https://127.0.0.1:${lab.port('http', 'https')}/hello.txt`]);
    t.is(https.code, 0, https.stderr);
    const smtp = await runTool('python3', [
      '-c',
      `import smtplib, ssl; s = smtplib.SMTP('127.0.0.1', ${lab.port('smtp')}); s.starttls(context=ssl._create_unverified_context()); ` +
        `s.sendmail('bob@lab.test', ['alice@lab.test'], 'Subject: export\\r\\n\\r\\nsecret body'); s.quit()`,
    ]);
    t.is(smtp.code, 0, smtp.stderr);
    const httpsSession = opened.find((e) => e.peer.port === Number(https.stdout))!.session;
    /** What the capture reported, for a failure message: its state and counters, the flow, the export's frames and keys. */
    const whatTheCaptureSaw = async (file: string): Promise<string> => {
      const { state, frames: seen, kept, skipped, dropped, restarts } = capture.status();
      const flows = capture
        .flowsForSession(httpsSession)
        .map((f) => ({ id: f.id, state: f.state, frames: f.frames, missed: f.missed, notCaptured: f.notCaptured }));
      const rows = await tsharkColumns(
        file,
        ['frame.number', 'tcp.srcport', 'tcp.flags.str', 'tcp.seq', 'tcp.len', 'tls.record.content_type', 'tcp.analysis.flags'],
        ['-o', 'tcp.relative_sequence_numbers:TRUE'],
      );
      const marked = capture.frames({ session: httpsSession, limit: 100 }).filter((f) => f.marks && f.marks.length > 0);
      return (
        `capture ${JSON.stringify({ state, frames: seen, kept, skipped, dropped, restarts })}; flows ${JSON.stringify(flows)}; ` +
        `marked frames ${JSON.stringify(marked.map((f) => [f.id, f.marks]))}; key-log labels ${secretsOf(readFileSync(file))
          .map((l) => l.split(' ')[0])
          .join(' ')}; ` +
        `${rows.length} frames exported (number port flags seq len tls-type analysis): ${rows.map((r) => r.join(' ')).join(' | ')}`
      );
    };
    const smtpSession = opened.find((e) => e.service === 'smtp')!.session;
    // The capture delivers a few times a second: wait until both connections were seen closing.
    const closed = (session: string) => capture.flowsForSession(session).some((f) => f.state === 'closed' || f.state === 'reset');
    t.true(await waitFor(() => closed(httpsSession) && closed(smtpSession), 10_000), 'both connections captured to their end');
    await lab.events.settled();

    // Frame events named the sessions.
    t.true(frames.some((e) => e.type === 'frame' && e.session === httpsSession));
    t.true(frames.some((e) => e.type === 'frame' && e.session === smtpSession && e.service === 'smtp'));

    // The HTTPS session alone: its frames only, with its key log.
    const httpsFile = join(dir, 'https.pcapng');
    writeFileSync(httpsFile, capture.pcapng({ sessions: [httpsSession] }));
    const keys = secretsOf(readFileSync(httpsFile));
    t.true(
      keys.some((l) => /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) [0-9a-f]{64} /.test(l)),
      'the key log is embedded',
    );
    const comments = await tsharkColumns(httpsFile, ['frame.comment']);
    t.true(comments.length >= 8);
    for (const [c] of comments) t.regex(c, new RegExp(`session ${httpsSession}$`));
    // A frame the capture lost leaves a gap nothing can be decrypted past: the flow says so.
    const httpsFlow = capture.flowsForSession(httpsSession)[0];
    t.deepEqual(httpsFlow.notCaptured, { client: 0, server: 0 }, `every byte of the HTTPS connection captured; ${await whatTheCaptureSaw(httpsFile)}`);
    // On loopback the capture sees frames where the receiver does, on the CPU that sent them: under
    // load two segments of one side can reach it (and the receiver) in the other order, and tshark
    // follows such a stream only with out-of-order reassembly on (the file's comment says so).
    const http = await tsharkColumns(httpsFile, ['http.request.method', 'http.request.uri'], [...OUT_OF_ORDER, '-Y', 'http.request']);
    const expected = [['GET', '/hello.txt']];
    t.deepEqual(
      http,
      expected,
      `tshark decrypts the request with no key-log file given${isDeepStrictEqual(http, expected) ? '' : `; ${await whatTheCaptureSaw(httpsFile)}`}`,
    );

    // SMTP with STARTTLS: the commands after the upgrade decrypt too.
    const smtpFile = join(dir, 'smtp.pcapng');
    writeFileSync(smtpFile, capture.pcapng({ flows: capture.flowsForSession(smtpSession).map((f) => f.id) }));
    // tshark takes SMTP on port 25 only: tell it the lab's port.
    const commands = (await tsharkColumns(smtpFile, ['smtp.req.command'], [...OUT_OF_ORDER, '-d', `tcp.port==${lab.port('smtp')},smtp`, '-Y', 'smtp.req'])).map(
      (r) => r[0].toUpperCase(),
    );
    // tshark keeps a command's first four letters: STARTTLS is "STAR".
    t.true(commands.includes('STAR'), commands.join(' '));
    t.true(commands.includes('MAIL'), `commands after STARTTLS decrypted: ${commands.join(' ')}`);
    t.true(commands.includes('DATA'));

    // The whole capture opens in tshark, and capinfos-like: every frame readable.
    const allFile = join(dir, 'all.pcapng');
    writeFileSync(allFile, capture.pcapng());
    const r = await runTshark(['-r', allFile, '-q', '-z', 'io,stat,0']);
    t.is(r.code, 0, r.stderr);
    t.is(secretsOf(readFileSync(allFile)).length >= keys.length, true);

    // The live view's API on the same exchange.
    const flow = capture.flowsForSession(httpsSession)[0];
    t.is(flow.service, 'http', "HTTPS is the http service's TLS listener");
    t.true(flow.tls);
    const ladder = capture.ladder(flow.id)!;
    t.deepEqual(
      ladder.steps.slice(0, 3).map((s) => s.flags.join(',')),
      ['SYN', 'SYN,ACK', 'ACK'],
    );
    const lines = capture.frames({ flow: flow.id });
    t.is(lines.length, flow.kept);
    const detail = capture.frame(lines[3].id)!;
    t.deepEqual(
      detail.layers.map((l) => l.id),
      ['eth', 'ip', 'tcp', 'tls'],
    );
    t.is(detail.hex.length, detail.capturedLength * 2);
    t.deepEqual(
      detail.encapsulation.map((p) => p.name),
      ['Ethernet header', 'IPv4 header', 'TCP header', 'TLS (HTTPS) data', 'Frame check sequence (CRC)'],
    );
    // A student sees their own sessions and nothing else.
    const scope = { sessions: [smtpSession] };
    t.deepEqual(
      capture.flows(scope).map((f) => f.session),
      [smtpSession],
    );
    t.is(capture.frame(lines[0].id, scope), undefined);
    t.is(capture.ladder(flow.id, scope), undefined);
    t.true(capture.frames({ scope }).every((f) => f.session === smtpSession));
    const studentFile = capture.pcapng({ scope });
    t.false(
      secretsOf(studentFile).some((l) => keys.includes(l)),
      "another session's keys are not in a student's file",
    );
  } finally {
    await lab.stop();
    await sleep(0);
    rmSync(dir, { recursive: true, force: true });
  }
});
