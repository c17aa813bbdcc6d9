// /upload/: a writable directory (<dataDir>/uploads). PUT creates (201) or replaces (204) a file,
// DELETE removes it, `/upload/` lists the area; GET and HEAD of a file take the same static path as
// the document root (validators, ranges, the in-memory cache), with the cache entry dropped on every
// PUT and DELETE. Names are one path segment, never starting with "." (temporary files are ".put-*").
// The size of a file and the number of files are capped.
import { open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpExchange } from '../exchange.js';
import { FileArea } from '../file-area.js';
import { escapeHtml } from '../response.js';
import type { HttpRoute } from '../routes.js';
import { htmlPage } from './html-page.js';

const PREFIX = '/upload/';
const UPLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const BAD_NAME = 'upload names are one path segment of letters, digits, ".", "_" and "-" (not starting with ".")';

export interface UploadAreaOptions {
  dir: string;
  maxFileBytes: number;
  maxFiles: number;
  cacheMaxFileBytes: number;
  cacheMaxTotalBytes: number;
}

export class UploadArea {
  readonly files: FileArea;

  constructor(private readonly options: UploadAreaOptions) {
    this.files = new FileArea(options.dir, {
      index: null,
      cacheMaxFileBytes: options.cacheMaxFileBytes,
      cacheMaxTotalBytes: options.cacheMaxTotalBytes,
      passive: true,
    });
  }

  /** Removes what uploads interrupted by a crash left behind, then opens the area. */
  async init(): Promise<void> {
    const dir = this.options.dir;
    for (const name of await readdir(dir)) if (name.startsWith('.put-')) await rm(join(dir, name), { force: true });
    await this.files.init();
  }

  route(): HttpRoute {
    return {
      path: PREFIX,
      prefix: true,
      methods: ['GET', 'PUT', 'DELETE'],
      description: 'PUT a file, GET it back, DELETE it',
      files: { area: this.files, check: (name) => (UPLOAD_NAME.test(name) ? undefined : BAD_NAME) },
      handler: (ex) => this.handle(ex),
    };
  }

  /** Everything but GET/HEAD of a file: the listing, PUT and DELETE. */
  private async handle(ex: HttpExchange): Promise<void> {
    const method = ex.req.method;
    const name = ex.path.slice(PREFIX.length);
    if (name === '') {
      if (method === 'GET' || method === 'HEAD') return this.listing(ex);
      ex.sendError(405, `${method} needs a file name: /upload/NAME`, { fields: 'Allow: GET, HEAD, OPTIONS\r\n' });
      return;
    }
    if (!UPLOAD_NAME.test(name)) {
      ex.sendError(400, BAD_NAME);
      return;
    }
    if (method === 'DELETE') return this.remove(ex, name);
    return this.put(ex, name);
  }

  private async remove(ex: HttpExchange, name: string): Promise<void> {
    const gone = await unlink(join(this.options.dir, name)).then(
      () => true,
      () => false,
    );
    this.files.invalidate(`/${name}`);
    if (gone) ex.send(204, '');
    else ex.sendError(404, `no upload named ${name}`);
  }

  /** PUT (RFC 9110 section 9.3.4): 201 when created, 204 when replaced; written aside, then renamed. */
  private async put(ex: HttpExchange, name: string): Promise<void> {
    const { dir, maxFileBytes: max, maxFiles } = this.options;
    const req = ex.req;
    if (!req.chunked && req.contentLength < 0) {
      ex.sendError(411, 'PUT needs a Content-Length (or a chunked body)');
      return;
    }
    if (!req.chunked && req.contentLength > max) {
      ex.sendError(413, `uploads are at most ${max} octets`, { close: true });
      return;
    }
    const file = join(dir, name);
    const existed = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!existed) {
      const count = (await readdir(dir)).filter((n) => !n.startsWith('.')).length;
      if (count >= maxFiles) {
        ex.sendError(507, `the upload area holds its maximum of ${maxFiles} files; DELETE one first`);
        return;
      }
    }
    const tmp = join(dir, `.put-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fh = await open(tmp, 'wx');
    let ok = false;
    try {
      const body = await ex.readBody(max, async (chunk) => {
        await fh.write(chunk);
      });
      await fh.close();
      if (body.overflow) {
        ex.sendError(413, `uploads are at most ${max} octets`, { close: true });
        return;
      }
      await rename(tmp, file);
      ok = true;
      this.files.invalidate(`/${name}`);
      if (existed) ex.send(204, '');
      else ex.send(201, `Location: /upload/${name}\r\nContent-Type: text/plain; charset=utf-8\r\n`, `created /upload/${name} (${body.size} octets)\n`);
    } finally {
      if (!ok) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
      }
    }
  }

  private async listing(ex: HttpExchange): Promise<void> {
    const { dir, maxFiles, maxFileBytes } = this.options;
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
    const rows: string[] = [];
    for (const n of names) {
      const s = await stat(join(dir, n)).catch(() => undefined);
      if (s?.isFile()) rows.push(`<li><a href="/upload/${encodeURIComponent(n)}">${escapeHtml(n)}</a> (${s.size} octets)</li>`);
    }
    const html = htmlPage(
      'Uploads',
      `<p>${rows.length} of at most ${maxFiles} files, each up to ${maxFileBytes} octets.</p>
<ul>${rows.join('\n')}</ul>
<pre>curl -T notes.txt http://HOST/upload/notes.txt     # PUT: 201 Created (204 when replaced)
curl http://HOST/upload/notes.txt                  # GET it back
curl -X DELETE http://HOST/upload/notes.txt        # DELETE: 204</pre>`,
    );
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }
}
