// The file `labnet watch` finds the lab by (dataDir/lab/watch.json) is written once every service
// has started, also when another service is still starting as HTTP starts listening.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { serviceModules } from '../../services/index.js';
import { echoModule } from '../support/echo-service.js';

test('watch.json names the lab URLs when a slower service finishes starting after HTTP listens', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-watchfile-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const http = serviceModules.find((m) => m.name === 'http');
  if (!http) return void t.fail('no http module');
  const lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    modules: [http, echoModule],
    config: {
      listen: '127.0.0.1',
      dataDir,
      users: [{ name: 'teach', password: 'teach-Secret-3' }],
      instructors: ['teach'],
      services: { http: { port: 0, httpsPort: 0 }, echo: { port: 0, startDelayMs: 500 } },
    },
  });
  t.teardown(() => lab.stop());
  const file = join(dataDir, 'lab', 'watch.json');
  const deadline = Date.now() + 5000;
  while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(existsSync(file), 'watch.json written');
  const urls = (JSON.parse(readFileSync(file, 'utf8')) as { urls: string[] }).urls;
  t.true(
    urls.some((u) => u.endsWith(`:${lab.port('http')}/lab/events`)),
    urls.join(' '),
  );
});
