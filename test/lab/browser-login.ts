// Logging in to /lab in real Chromium the way a student does (the form's user-name and password
// fields, the session cookie it sets), then opening a view once its event stream is live. Shared by
// every browser test of the lab, with the wait for an unfolded payload.
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';

export interface LabAccount {
  name: string;
  password: string;
}

export interface BrowserLoginOptions {
  /** The view opened after the login ('#/sessions', '#/packets', '#/mail'...); default the overview. */
  hash?: string;
  viewport?: { width: number; height: number };
  /** Other options of the new browser context (acceptDownloads...). */
  context?: BrowserContextOptions;
  /** The selector that says the view is ready (default: the live-stream indicator). */
  ready?: string;
}

/** A new browser context logged in as `user` at `base` (http://host:port), showing `options.hash`. */
export async function browserLogin(
  browser: Browser,
  base: string,
  user: LabAccount,
  options: BrowserLoginOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 860 }, ...options.context });
  const page = await context.newPage();
  const hash = options.hash ?? '';
  await page.goto(`${base}/lab${hash}`);
  await page.fill('input[name=user]', user.name);
  await page.fill('input[name=password]', user.password);
  // The page is at /lab already: wait for the logged-in page the login's 303 leads to, not for the URL.
  await Promise.all([page.waitForSelector('form.account'), page.click('form.login button')]);
  await page.goto(`${base}/lab${hash}`);
  await page.waitForSelector(options.ready ?? '#conn.conn-live');
  return { context, page };
}

/** The text of an unfolded payload, once it is there (a long one is fetched from the transcript first). */
export async function unfolded(pre: Locator): Promise<string> {
  await pre
    .filter({ hasText: /\S/ })
    .filter({ hasNotText: /^loading…$/ })
    .waitFor({ timeout: 10_000 });
  return (await pre.textContent())!;
}
