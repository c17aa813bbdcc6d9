// The packet view's routes (/lab/api/capture) with frames fed to the capture as if captured (no root
// needed): a DHCP message is found by its client's MAC and transaction id (the DHCP ladder's link), an
// ARP exchange by the address it asked about, a frame comes in full (layers, encapsulation with the
// never-captured CRC, hex); an anonymous browser gets 401, a student without a lease for that card sees
// none of it, an instructor all of it; a flow downloads as pcapng. (/lab/capture.pcapng is only there
// with the capture on: packet-view.test.ts opens it with an instructor's login cookie.)
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet, type LabnetHandle } from '../../app/index.js';
import type { PacketCapture } from '../../core/packet/packet-capture.js';
import { TOKENS } from '../../core/tokens.js';
import { MAC_A } from '../packet/craft.js';
import { craftedFrames } from '../packet/crafted-frames.js';

const USERS = [
  { name: 'alice', password: 'alice-pw-1' },
  { name: 'teach', password: 'teach-pw-3' },
];

let lab: LabnetHandle;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'labnet-packet-api-'));
  lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    config: { listen: '127.0.0.1', dataDir: dir, users: USERS, instructors: ['teach'], services: { http: { port: 0, httpsPort: 0 } } },
  });
  const capture = lab.get<PacketCapture>(TOKENS.Capture);
  const wanted = new Set(['dhcp discover', 'arp request', 'arp reply']);
  let t = Date.now() * 1000;
  for (const f of craftedFrames().filter((x) => wanted.has(x.label))) {
    capture.ingest({ interfaceId: 0, linkType: 1, timeUs: (t += 1000), data: f.data, originalLength: f.originalLength ?? f.data.length });
  }
});

test.after.always(async () => {
  await lab?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function request(
  path: string,
  options: { cookie?: string; method?: string; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = http.request({ host: '127.0.0.1', port: lab.port('http'), path, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function login(user: (typeof USERS)[number]): Promise<string> {
  const r = await request('/lab/login', { method: 'POST', body: `user=${user.name}&password=${user.password}` });
  const cookie = (r.headers['set-cookie'] ?? [])[0]?.split(';')[0];
  if (r.status !== 303 || !cookie) throw new Error(`login answered ${r.status}`);
  return cookie;
}

async function json<T>(path: string, cookie: string): Promise<T> {
  const r = await request(path, { cookie });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body.toString()}`);
  return JSON.parse(r.body.toString()) as T;
}

interface Flow {
  id: string;
  kind: string;
  arp?: { address: string; resolvedTo?: string };
}
interface Line {
  id: number;
  flow?: string;
  protocol: string;
  info: string;
}

test('an anonymous browser is asked to log in', async (t) => {
  t.is((await request('/lab/api/capture')).status, 401);
  t.is((await request('/lab/api/capture/frames/1')).status, 401);
});

test('the instructor finds a DHCP message by MAC and xid, an ARP exchange by address, and a frame in full', async (t) => {
  const cookie = await login(USERS[1]);
  const all = await json<{ status: { enabled: boolean }; flows: Flow[] }>('/lab/api/capture', cookie);
  t.false(all.status.enabled, 'the capture itself is off here (frames were fed in)');
  t.true(all.flows.some((f) => f.kind === 'dhcp'));
  const dhcp = await json<{ frames: Line[] }>(`/lab/api/capture/frames?mac=${MAC_A}&xid=deadbeef`, cookie);
  t.is(dhcp.frames.length, 1);
  t.is(dhcp.frames[0].protocol, 'DHCP');
  t.regex(dhcp.frames[0].info, /DHCP DISCOVER xid 0xdeadbeef/i);
  t.deepEqual((await json<{ frames: Line[] }>(`/lab/api/capture/frames?mac=${MAC_A}&xid=12345678`, cookie)).frames, []);
  t.is((await request(`/lab/api/capture/frames?mac=${MAC_A}&xid=nothex`, { cookie })).status, 400);

  const arpFlow = all.flows.find((f) => f.kind === 'arp' && f.arp?.resolvedTo)!;
  t.truthy(arpFlow, 'the ARP request and its reply make one exchange');
  const arp = await json<{ flows: Flow[]; frames: Line[] }>(`/lab/api/capture/frames?arp=${arpFlow.arp!.address}`, cookie);
  t.deepEqual(
    arp.frames.map((f) => f.protocol),
    ['ARP', 'ARP'],
  );
  t.regex(arp.frames[1].info, / is at /);

  const detail = await json<{ layers: Array<{ id: string }>; encapsulation: Array<{ name: string; captured: number }>; hex: string; capturedLength: number }>(
    `/lab/api/capture/frames/${dhcp.frames[0].id}`,
    cookie,
  );
  t.deepEqual(detail.layers.map((l) => l.id).slice(0, 3), ['eth', 'ip', 'udp']);
  t.is(detail.hex.length, detail.capturedLength * 2);
  const crc = detail.encapsulation.at(-1)!;
  t.is(crc.captured, 0, `the CRC is drawn with no bytes: ${crc.name}`);

  const flow = await json<{ flow: Flow; frames: Line[]; ladder?: unknown }>(`/lab/api/capture/flows/${dhcp.frames[0].flow}`, cookie);
  t.is(flow.frames.length, 1);
  t.is(flow.ladder, undefined, 'no TCP ladder for DHCP');
  const since = await json<{ frames: Line[] }>(`/lab/api/capture/flows/${dhcp.frames[0].flow}?since=${dhcp.frames[0].id}`, cookie);
  t.deepEqual(since.frames, [], 'only frames after ?since=');
  const file = await request(`/lab/api/capture/flows/${dhcp.frames[0].flow}.pcapng`, { cookie });
  t.is(file.status, 200);
  t.is(file.headers['content-type'], 'application/x-pcapng');
  t.is(file.body.readUInt32LE(0), 0x0a0d0d0a, 'a pcapng Section Header Block');
  t.is((await request('/lab/api/capture/nothing', { cookie })).status, 404);
});

test('a student sees no DHCP or ARP exchange of a card that is not theirs', async (t) => {
  const cookie = await login(USERS[0]);
  const list = await json<{ flows: Flow[] }>('/lab/api/capture', cookie);
  t.deepEqual(
    list.flows.filter((f) => f.kind === 'dhcp' || f.kind === 'arp'),
    [],
  );
  t.deepEqual((await json<{ frames: Line[] }>(`/lab/api/capture/frames?mac=${MAC_A}&xid=deadbeef`, cookie)).frames, []);
  const teach = await login(USERS[1]);
  const all = await json<{ flows: Flow[] }>('/lab/api/capture', teach);
  const dhcpFlow = all.flows.find((f) => f.kind === 'dhcp')!;
  t.is((await request(`/lab/api/capture/flows/${dhcpFlow.id}`, { cookie })).status, 404);
  t.is((await request(`/lab/api/capture/flows/${dhcpFlow.id}.pcapng`, { cookie })).status, 404);
});
