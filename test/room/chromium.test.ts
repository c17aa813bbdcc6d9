// What people look at, in real Chromium (Debian package via playwright-core): a student's setup page
// (its QR code decoded with zbarimg must be the page's own address), the landing page, and the
// printable handouts made by `labnet users import --handouts`: one printed page per student (the PDF
// from Chromium's printToPDF, counted with pdfinfo, its text read with pdftotext), each with the
// student's password and a QR code of their setup page. Screenshots: build/artifacts/room/*.png.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT, runCli, startLabProcess, type LabProcess } from '../support/lab-process.js';

const run = promisify(execFile);
const ARTIFACTS = join(PROJECT_ROOT, 'build', 'artifacts', 'room');
let lab: LabProcess;
let browser: Browser;

test.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  lab = await startLabProcess({ only: ['http', 'smtp', 'imap', 'pop3'], timeoutMs: 60_000 });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000 });
});

test.after.always(async () => {
  await browser?.close();
  await lab?.stop();
  lab?.cleanup();
});

async function qrText(png: string): Promise<string> {
  return (await run('zbarimg', ['--quiet', '--raw', png])).stdout.trim();
}

test('the setup page shows the settings and a QR code of its own address', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const url = `http://127.0.0.1:${lab.port('http')}/setup/alice`;
  const res = await page.goto(url);
  t.is(res?.status(), 200);
  const text = await page.innerText('body');
  t.regex(text, /alice@lab\.test/);
  t.regex(text, new RegExp(`IMAP, port ${lab.port('imap', 'imaps')}, security SSL/TLS`));
  t.regex(text, new RegExp(`SMTP, port ${lab.port('smtp', 'submission')}, security STARTTLS`));
  const shot = join(ARTIFACTS, 'setup-alice.png');
  await page.screenshot({ path: shot, fullPage: true });
  const qr = join(ARTIFACTS, 'setup-alice-qr.png');
  await page.locator('figure svg').screenshot({ path: qr });
  t.is(await qrText(qr), url);
  await page.goto(`http://127.0.0.1:${lab.port('http')}/`);
  await page.screenshot({ path: join(ARTIFACTS, 'landing.png'), fullPage: true });
  t.regex(await page.innerText('body'), /Thunderbird and Outlook find these by themselves/);
  await page.close();
});

test('labnet users import --handouts: one printed page per student, password and QR code on each', async (t) => {
  const csv = join(lab.dataDir, 'class.csv');
  writeFileSync(csv, 'name,full name\nhana,Hana Hill\nivan,Ivan Ivanov\njules,"Jules Verne, Jr."\n');
  const out = join(lab.dataDir, 'handouts');
  const r = await runCli(['users', 'import', csv, '-d', lab.dataDir, '--handouts', out, '--url', `http://labnet.lab.test:${lab.port('http')}`], {
    timeoutMs: 120_000,
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /handouts: .*handouts\.html, .*handouts\.pdf \(3 pages\)/);
  const passwords = Object.fromEntries([...r.stdout.matchAll(/^(hana|ivan|jules)\s+(\S+)/gm)].map((m) => [m[1], m[2]]));
  t.is(Object.keys(passwords).length, 3);

  const pdf = join(out, 'handouts.pdf');
  t.is(readFileSync(pdf).subarray(0, 5).toString(), '%PDF-');
  t.regex((await run('pdfinfo', [pdf])).stdout, /^Pages:\s+3$/m);
  for (const [i, name] of ['hana', 'ivan', 'jules'].entries()) {
    const text = (await run('pdftotext', ['-f', String(i + 1), '-l', String(i + 1), '-layout', pdf, '-'])).stdout;
    t.regex(text, new RegExp(`${name}@lab\\.test`));
    t.true(text.includes(passwords[name]), `${name}'s password is on page ${i + 1}`);
    for (const other of Object.keys(passwords).filter((n) => n !== name)) t.false(text.includes(passwords[other]), `only ${name}'s password on page ${i + 1}`);
  }
  // The first PDF page as an image: its QR code is hana's setup page.
  await run('pdftoppm', ['-f', '1', '-l', '1', '-r', '110', '-png', pdf, join(ARTIFACTS, 'handout-pdf')]);
  const pagePng = join(ARTIFACTS, 'handout-pdf-1.png');
  t.is(await qrText(pagePng), `http://labnet.lab.test:${lab.port('http')}/setup/hana`);

  // The HTML handout as Chromium shows it before printing.
  const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
  await page.goto(`file://${join(out, 'handouts.html')}`);
  t.is(await page.locator('section.sheet').count(), 3);
  await page
    .locator('section.sheet')
    .first()
    .screenshot({ path: join(ARTIFACTS, 'handout-hana.png') });
  await page.close();
});
