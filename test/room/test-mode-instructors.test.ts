// Test mode (GreenMail's auth-disabled mode) accepts any password for mail and for the upload area,
// but not on the instructors' doors: the REST API reads everyone's mail, and the capture download
// carries every student's frames and TLS keys. A wrong instructor password gets 401 there; the right
// one gets in; a student's login in test mode still writes to the upload area.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLabnet } from '../../app/labnet.js';
import { isRoot } from '../dhcp/netns-fixture.js';

const basic = (name: string, password: string): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

test('test mode: the capture download and the REST API still check an instructor password; uploads take any', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-testmode-'));
  const capture = isRoot();
  const lab = await startLabnet({
    defaults: false,
    only: ['http', 'smtp'],
    logger: pino({ level: 'silent' }),
    config: {
      listen: '127.0.0.1',
      dataDir,
      testMode: true,
      users: [{ name: 'teacher', password: 'teacher-pw' }],
      instructors: ['teacher'],
      limits: { shutdownGraceMs: 500 },
      services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
      ...(capture ? { capture: { enabled: true, interface: 'lo' } } : {}),
    },
  });
  try {
    const base = `http://127.0.0.1:${lab.ports.http}`;
    const get = async (path: string, auth: string): Promise<number> => (await fetch(`${base}${path}`, { headers: { Authorization: auth } })).status;
    t.is(await get('/api/v1/messages', basic('teacher', 'wrong')), 401, 'REST API: a wrong instructor password');
    t.is(await get('/api/v1/messages', basic('teacher', 'teacher-pw')), 200, 'REST API: the right one');
    if (capture) {
      t.is(await get('/lab/capture.pcapng', basic('teacher', 'wrong')), 401, 'capture download: a wrong instructor password');
      t.is(await get('/lab/capture.pcapng', basic('teacher', 'teacher-pw')), 200, 'capture download: the right one');
    } else t.log('capture download not checked: capture needs root');
    const put = await fetch(`${base}/upload/note.txt`, { method: 'PUT', body: 'hi', headers: { Authorization: basic('student1', 'anything') } });
    t.is(put.status, 201, 'the upload area takes any password in test mode, as mail does');
  } finally {
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
