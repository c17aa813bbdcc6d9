// The web inbox of the live lab (#/mail) in real Chromium (Debian package, playwright-core): a
// student logs in and reads their own mail (folders, list, text, HTML in a sandboxed frame, headers,
// source, an attachment downloaded intact); a hostile HTML mail stays inert (no script runs in the
// frame or the page, no remote image, style or refresh reaches the network, no form posts); another
// user's mailbox is refused; an instructor picks any mailbox. Screenshots go to
// build/test-artifacts/lab/inbox-*.png (not committed).
import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { MAIL_HTML_CSP } from '../../core/lab/inbox-routes.js';
import { startTestLab, USERS, type TestLab } from '../api/fixture.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { browserLogin } from './browser-login.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(PROJECT_ROOT, 'build', 'test-artifacts', 'lab');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAHUlEQVR4nGNgGAWjYBSMglEwCkbBKBgFo2AUQAEACxAAAW8o2s0AAAAASUVORK5CYII=', 'base64');

let t0: TestLab;
let browser: Browser;
let tracker: Server;
let trackerHits: string[] = [];
let base: string;
let trackerBase: string;

test.before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t0 = await startTestLab({ instructors: ['teacher'] });
  base = `http://127.0.0.1:${t0.lab.ports.http}`;
  tracker = createServer((req, res) => {
    trackerHits.push(`${req.method} ${req.url}`);
    res.end('tracked');
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
  trackerBase = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  const tx = nodemailer.createTransport(t0.lab.clients.nodemailer());
  await tx.sendMail({
    from: '"Teacher Tess" <teacher@lab.test>',
    to: 'alice@lab.test',
    subject: 'Homework: MIME für alle',
    text: 'Hello Alice,\n\nthe homework is attached.\n\nTess\n',
    html: '<h1 style="color:#2457c5">Hello Alice</h1><p>The <b>homework</b> is attached. <img src="cid:logo@lab" alt="logo" width="32" height="32"></p>',
    attachments: [
      { filename: 'homework.txt', content: 'Question 1: what does EHLO do?\n' },
      { filename: 'logo.png', content: PNG, cid: 'logo@lab', contentType: 'image/png' },
    ],
  });
  await tx.sendMail({
    from: 'attacker@evil.example',
    to: 'alice@lab.test',
    subject: 'Hostile HTML',
    text: 'plain fallback',
    html:
      `<p id="hello">hostile but harmless</p>` +
      `<script>window.ran = 1; try { parent.pwned = 1 } catch (e) {} ; fetch('${trackerBase}/script')</script>` +
      `<img src="${trackerBase}/pixel.gif" alt="pixel">` +
      `<img src="x" onerror="window.ran = 2; new Image().src='${trackerBase}/onerror'">` +
      `<link rel="stylesheet" href="${trackerBase}/style.css">` +
      `<div style="background:url(${trackerBase}/bg.png)">bg</div>` +
      `<meta http-equiv="refresh" content="0;url=${trackerBase}/refresh">` +
      `<iframe src="${trackerBase}/frame"></iframe><iframe src="/lab"></iframe>` +
      `<form id="f" action="${trackerBase}/form" method="post"><input name="x" value="1"><button id="b">send</button></form>` +
      `<a id="js" href="javascript:parent.pwned=3">click</a>` +
      `<object data="${trackerBase}/object"></object><video poster="${trackerBase}/poster.png"></video>`,
  });
  await tx.sendMail({ from: 'x@school.example', to: 'bob@lab.test', subject: 'Bob private', text: 'for bob only\n' });
  await t0.lab.mail.waitFor({ to: 'alice@lab.test', count: 2 });
  await t0.lab.mail.waitFor({ to: 'bob@lab.test', count: 1 });
});

test.after.always(async () => {
  await browser?.close();
  tracker?.close();
  await t0?.stop();
});

function loggedIn(user: (typeof USERS)[number], viewport = { width: 1280, height: 860 }): Promise<{ context: BrowserContext; page: Page }> {
  return browserLogin(browser, base, user, { viewport, hash: '#/mail', context: { acceptDownloads: true }, ready: '.inbox-messages li' });
}

async function open(page: Page, subject: string, show?: string): Promise<void> {
  await page.click(`.inbox-messages li:has-text("${subject}") a`);
  await page.waitForSelector('.inbox-subject');
  if (show) {
    await page.click(`.inbox-tabs a[data-show=${show}]`);
    await page.waitForSelector(`.inbox-body[data-show=${show}]`);
  }
}

/** The text of each element (a page-side callback: serialised into the page, so it refers to nothing outside). */
function textsOf(els: unknown[]): string[] {
  return els.map((e) => (e as { textContent: string | null }).textContent ?? '');
}

interface PageGlobal {
  pwned?: number;
  ran?: number;
  document: { getElementById(id: string): { textContent: string | null } | null };
}

test.serial('a student reads their mail: folders, list, text, HTML, headers, source, an attachment', async (t) => {
  const { context, page } = await loggedIn(USERS[0]);
  try {
    const subjects = await page.$$eval('.inbox-messages .subject', textsOf);
    t.deepEqual(subjects, ['Hostile HTML', 'Homework: MIME für alle']);
    // The folder list loads on its own request, beside the message list: wait for it, not for a time.
    await page.locator('.inbox-folders', { hasText: 'INBOX' }).waitFor({ timeout: 10_000 });
    t.regex((await page.textContent('.inbox-folders')) ?? '', /INBOX/);
    await open(page, 'Homework');
    t.regex((await page.textContent('.inbox-head')) ?? '', /Teacher Tess.*<teacher@lab\.test>/);
    t.regex((await page.textContent('.inbox-text')) ?? '', /the homework is attached/);
    await page.screenshot({ path: join(SHOTS, 'inbox-text.png') });

    await page.click('.inbox-tabs a[data-show=html]');
    const frameEl = await page.waitForSelector('iframe.inbox-html');
    t.is(await frameEl.getAttribute('sandbox'), '');
    const frame = (await frameEl.contentFrame())!;
    await frame.waitForSelector('h1');
    t.is(await frame.textContent('h1'), 'Hello Alice');
    // The cid: image is the message's own part, inlined: it loads.
    await frame.waitForFunction(
      () => (globalThis as unknown as { document: { images: Array<{ complete: boolean; naturalWidth: number }> } }).document.images[0]?.naturalWidth > 0,
    );
    await page.screenshot({ path: join(SHOTS, 'inbox-html.png') });

    await page.click('.inbox-tabs a[data-show=headers]');
    await page.waitForSelector('.inbox-headers');
    const names = (await page.$$eval('.inbox-headers th', textsOf)).map((n) => n.toLowerCase());
    for (const n of ['received', 'from', 'to', 'subject', 'mime-version', 'content-type']) t.true(names.includes(n), n);

    await page.click('.inbox-tabs a[data-show=structure]');
    await page.waitForSelector('.mime-tree');
    const types = await page.$$eval('.mime-tree .mime-type', textsOf);
    t.deepEqual(types, ['multipart/mixed', 'multipart/alternative', 'text/plain', 'multipart/related', 'text/html', 'image/png', 'text/plain']);
    const tree = (await page.textContent('.mime-tree')) ?? '';
    t.regex(tree, /base64/);
    t.regex(tree, /“homework\.txt”/);
    const words = (await page.textContent('.inbox-structure table')) ?? '';
    t.regex(words, /=\?UTF-8\?[QB]\?/i);
    t.regex(words, /decodedHomework: MIME für alle/);
    await page.screenshot({ path: join(SHOTS, 'inbox-structure.png') });

    await page.click('.inbox-tabs a[data-show=source]');
    await page.waitForFunction(() => !/Loading/.test((globalThis as unknown as PageGlobal).document.getElementById('app')?.textContent ?? 'Loading'));
    const source = (await page.textContent('.inbox-source')) ?? '';
    t.regex(source, /Content-Type: multipart\/mixed/);
    t.regex(source, /Content-Type: multipart\/alternative/);
    t.regex(source, /Subject: /);
    await page.screenshot({ path: join(SHOTS, 'inbox-source.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.inbox-attachments a:has-text("homework.txt")')]);
    t.is(download.suggestedFilename(), 'homework.txt');
    t.is(readFileSync(await download.path(), 'utf8'), 'Question 1: what does EHLO do?\n');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('.inbox-tabs a[data-show=text]');
    await page.screenshot({ path: join(SHOTS, 'inbox-phone.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test.serial('hostile HTML mail stays inert: no script, no remote load, no form, no navigation', async (t) => {
  const { context, page } = await loggedIn(USERS[0]);
  const requests: string[] = [];
  // Chromium reports a request CSP blocks as issued and then failed: count only those that completed.
  page.on('requestfinished', (r) => requests.push(r.url()));
  try {
    trackerHits = [];
    await open(page, 'Hostile HTML', 'html');
    const frameEl = await page.waitForSelector('iframe.inbox-html');
    const frame = (await frameEl.contentFrame())!;
    await frame.waitForSelector('#hello');
    await frame.waitForLoadState('load');
    t.is(await frame.textContent('#hello'), 'hostile but harmless');
    // Clicks on the form's button and the javascript: link do nothing (sandbox: no forms, no scripts).
    await frame.click('#b', { timeout: 2000 }).catch(() => undefined);
    await frame.click('#js', { timeout: 2000 }).catch(() => undefined);
    await t0.lab.events.settled();
    t.is(await frame.evaluate(() => (globalThis as unknown as PageGlobal).ran), undefined, 'no script ran in the frame');
    t.is(await page.evaluate(() => (globalThis as unknown as PageGlobal).pwned), undefined, 'nothing reached the page');
    t.deepEqual(trackerHits, [], 'nothing reached the tracking server');
    t.deepEqual(
      requests.filter((u) => u.startsWith(trackerBase)),
      [],
    );
    t.regex((await page.textContent('.inbox-safety')) ?? '', /remote references? not loaded/);
    t.is(page.url().startsWith(`${base}/lab`), true);
    await page.screenshot({ path: join(SHOTS, 'inbox-hostile.png') });
    // The HTML route carries the sandbox CSP itself, so opening it on its own is just as inert.
    const res = await page.request.get(`${base}/lab/api/mail/html?folder=INBOX&uid=2`);
    t.is(res.headers()['content-security-policy'], MAIL_HTML_CSP);
    t.false('x-frame-options' in res.headers());
  } finally {
    await context.close();
  }
});

test.serial("never another user's mail: a student is refused bob's mailbox; anonymous gets 401; an instructor picks any", async (t) => {
  const alice = await loggedIn(USERS[0]);
  try {
    t.false(((await alice.page.textContent('.inbox-list')) ?? '').includes('Bob private'));
    for (const path of [
      'list?user=bob',
      'folders?user=bob',
      'message?user=bob&uid=1',
      'raw?user=bob&uid=1',
      'html?user=bob&uid=1',
      'attachment?user=bob&uid=1&n=0',
    ]) {
      const r = await alice.page.request.get(`${base}/lab/api/mail/${path}`);
      t.is(r.status(), 403, path);
    }
    // Her own, asked for by name or address, is fine.
    t.is((await alice.page.request.get(`${base}/lab/api/mail/list?user=alice@lab.test`)).status(), 200);
  } finally {
    await alice.context.close();
  }
  const anon = await fetch(`${base}/lab/api/mail/list`);
  t.is(anon.status, 401);
  // The teacher has no mail of their own: log in by hand (loggedIn waits for a message).
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    await page.goto(`${base}/lab#/mail`);
    await page.fill('input[name=user]', USERS[2].name);
    await page.fill('input[name=password]', USERS[2].password);
    // The page is at /lab already: wait for the logged-in page the login's 303 leads to, not for the URL.
    await Promise.all([page.waitForSelector('form.account'), page.click('form.login button')]);
    await page.goto(`${base}/lab#/mail?user=bob`);
    await page.waitForSelector('.inbox-messages li');
    t.regex((await page.textContent('.inbox-list')) ?? '', /Bob private/);
    // The folder list (with the picker) and the message list are fetched separately: wait for both.
    t.truthy(await page.waitForSelector('.inbox-mailbox select'));
    await open(page, 'Bob private');
    t.regex((await page.textContent('.inbox-text')) ?? '', /for bob only/);
    await page.screenshot({ path: join(SHOTS, 'inbox-instructor.png') });
  } finally {
    await context.close();
  }
});
