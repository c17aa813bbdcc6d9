// The site's directories on first start: the document root (with a sample index.html and hello.txt
// when labnet manages it, so a fresh lab has something to fetch) and the upload area.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { htmlPage } from './pages/html-page.js';
import { escapeHtml } from './response.js';

/** Creates the document root if it does not exist (with sample pages when `seed`), and `uploadDir`. */
export async function prepareSiteDirs(documentRoot: string, uploadDir: string, seed: { hostname: string } | undefined): Promise<void> {
  const existed = await stat(documentRoot).then(
    () => true,
    () => false,
  );
  if (!existed) {
    await mkdir(documentRoot, { recursive: true });
    if (seed) await seedDocumentRoot(documentRoot, seed.hostname);
  }
  await mkdir(uploadDir, { recursive: true });
}

async function seedDocumentRoot(root: string, hostname: string): Promise<void> {
  await writeFile(
    join(root, 'index.html'),
    htmlPage(
      `Welcome to ${escapeHtml(hostname)}`,
      `<p>This page is <code>index.html</code> in labnet's document root. Edit it, add files next to it, and reload:
labnet notices changes within a second.</p>
<p>The lab's own page (services, ports, mail settings) is <a href="/">/</a>.</p>`,
    ),
  );
  await writeFile(join(root, 'hello.txt'), 'Hello, world\n');
}
