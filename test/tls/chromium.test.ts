// Headless Chromium (Debian package, driven by playwright-core) loads https://localhost/tls from the
// real labnet process with certificate checks ON: the lab certificate is trusted by pinning its key
// (--ignore-certificate-errors-spki-list, honoured only with a fresh --user-data-dir), so any other
// certificate would still be refused. The page must render the ladder; a screenshot is kept in
// build/test-artifacts/tls-ladder.png. The landing page on the plain listener lists both listeners of
// the one http service, and its /tls link leads (redirected) to the TLS listener's page
// (build/test-artifacts/landing.png).
import test from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT, startLabProcess, type LabProcess } from '../support/lab-process.js';

const CHROMIUM = '/usr/bin/chromium';
let lab: LabProcess;

test.before(async () => {
  lab = await startLabProcess({ only: ['http'], timeoutMs: 30_000 });
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

test('Chromium shows /tls with the handshake ladder and no certificate error', async (t) => {
  t.true(existsSync(CHROMIUM), 'the Debian chromium package is installed (.ci/install-deps.sh)');
  const cert = new X509Certificate(readFileSync(join(lab.dataDir, 'tls', 'server.crt')));
  const spki = createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  const profile = mkdtempSync(join(tmpdir(), 'labnet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  });
  try {
    const page = await context.newPage();
    const res = await page.goto(`https://localhost:${lab.port('http', 'https')}/tls`, { timeout: 60_000 });
    t.is(res?.status(), 200);
    const security = await res!.securityDetails();
    t.truthy(security);
    t.is(security!.protocol, 'TLS 1.3');
    t.regex(security!.issuer ?? '', /labnet lab CA/);
    await page.waitForSelector('.ladder .msg', { timeout: 30_000 });
    const names = await page.$$eval('.msg .label b', (els) => els.map((e) => (e as unknown as { textContent: string | null }).textContent));
    t.is(names[0], 'ClientHello');
    for (const m of ['ServerHello', 'EncryptedExtensions', 'Certificate', 'CertificateVerify', 'Finished']) t.true(names.includes(m), m);
    t.regex((await page.textContent('.summary')) ?? '', /TLS 1\.3/);
    t.regex((await page.textContent('#keylog')) ?? '', /CLIENT_HANDSHAKE_TRAFFIC_SECRET/);
    const dir = join(PROJECT_ROOT, 'build', 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = await page.screenshot({ path: join(dir, 'tls-ladder.png'), fullPage: true });
    t.true(shot.length > 10_000);
    const plain = lab.port('http', 'http');
    const https = lab.port('http', 'https');
    const landing = await page.goto(`http://localhost:${plain}/`, { timeout: 60_000 });
    t.is(landing?.status(), 200);
    const row = (await page.textContent('table tr:nth-child(2)')) ?? '';
    t.regex(row, new RegExp(`^http\\s*running\\s*http ${plain}/tcp, https ${https}/tcp \\(TLS\\)`));
    await page.screenshot({ path: join(dir, 'landing.png'), fullPage: true });
    await Promise.all([page.waitForURL(`https://localhost:${https}/tls`, { timeout: 60_000 }), page.click('a[href="/tls"]')]);
    await page.waitForSelector('.ladder .msg', { timeout: 30_000 });
    t.regex((await page.textContent('.summary')) ?? '', /TLS 1\.3/);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
