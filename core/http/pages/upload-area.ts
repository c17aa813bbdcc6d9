// /upload/: a writable directory (<dataDir>/uploads). PUT creates (201) or replaces (204) a file,
// DELETE removes it, `/upload/` lists the area; GET and HEAD of a file take the same static path as
// the document root (validators, ranges, the in-memory cache), with the cache entry dropped on every
// PUT and DELETE. Names are one path segment, never starting with "." (temporary files are ".put-*").
// The size of a file and the number of files are capped.
//
// Ownership (issue 14): reading stays open, but PUT and DELETE need HTTP Basic (RFC 7617) with a lab
// login, checked off the event loop through the shared login throttle (core/throttle.ts). A file
// belongs to whoever created it: another student gets 403, an instructor may replace or delete any
// file. Owners are kept in `.owners.json` (written atomically before a new owner's file is renamed
// into place; sizes are read with stat at start and kept in memory); each user's files and octets are
// capped (uploadMaxFilesPerUser, uploadMaxBytesPerUser).
// A file with no owner (uploaded before logins were needed) may only be changed by an instructor.
import { open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Accounts } from '../../auth.js';
import type { EventBus } from '../../events.js';
import { fsyncDir, isNoSpace, writeAll, writeFileDurable } from '../../mail-store/fs-util.js';
import { isThrottled } from '../../throttle.js';
import { basicLogin } from '../basic-auth.js';
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
  /** Octets one user may hold in the area (0: no cap). */
  maxBytesPerUser?: number;
  /** Files one user may hold in the area (0: no cap). */
  maxFilesPerUser?: number;
  /** Lab logins for PUT and DELETE; without them nobody may write. */
  auth?: UploadAuth;
}

export interface UploadAuth {
  accounts: Accounts;
  /** Accounts that may replace or delete any file. */
  instructors: () => readonly string[];
  events?: EventBus;
}

const OWNERS_FILE = '.owners.json';
const REALM = 'WWW-Authenticate: Basic realm="labnet uploads", charset="UTF-8"\r\n';

interface Owned {
  owner: string;
  size: number;
}

export class UploadArea {
  readonly files: FileArea;
  /** name -> owner (`.owners.json`) and size (stat at start, then each PUT). */
  private readonly owners = new Map<string, Owned>();
  /** PUT commits and DELETEs, one at a time (the caps and `.owners.json` stay consistent). */
  private lock: Promise<unknown> = Promise.resolve();

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
    for (const name of await readdir(dir)) if (name.startsWith('.put-') || name.startsWith(`${OWNERS_FILE}.`)) await rm(join(dir, name), { force: true });
    await this.loadOwners();
    await this.files.init();
  }

  /** Reads `.owners.json`, keeping only entries whose file exists (a crash between the two writes). */
  private async loadOwners(): Promise<void> {
    let saved: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.options.dir, OWNERS_FILE), 'utf8'));
      if (parsed !== null && typeof parsed === 'object') saved = parsed as Record<string, unknown>;
    } catch {
      // none yet, or unreadable: every file is ownerless (instructors may still manage them)
    }
    for (const [name, owner] of Object.entries(saved)) {
      if (typeof owner !== 'string' || !UPLOAD_NAME.test(name)) continue;
      const st = await stat(join(this.options.dir, name)).catch(() => undefined);
      if (st?.isFile()) this.owners.set(name, { owner, size: st.size });
    }
  }

  private async saveOwners(): Promise<void> {
    const out: Record<string, string> = {};
    for (const [name, o] of this.owners) out[name] = o.owner;
    await writeFileDurable(this.options.dir, OWNERS_FILE, JSON.stringify(out));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** What a user holds: files and octets. */
  usage(user: string): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const o of this.owners.values())
      if (o.owner === user) {
        files++;
        bytes += o.size;
      }
    return { files, bytes };
  }

  /**
   * The lab login of a PUT or DELETE (async check, throttled per address and account), or undefined
   * once the request has been answered (401, 429). A body left unread closes the connection.
   */
  private async login(ex: HttpExchange): Promise<string | undefined> {
    const auth = this.options.auth;
    const close = ex.req.hasBody;
    // Test mode accepts any password here, as it does for mail (Accounts.verifyAsync).
    const tried = auth === undefined ? undefined : await basicLogin(ex, auth.accounts, auth.events, (l, p) => auth.accounts.verifyAsync(l, p));
    if (tried === undefined) {
      ex.sendError(401, 'writing here needs your lab login (HTTP Basic): curl -u NAME -T FILE URL; reading needs none', { fields: REALM, close });
      return undefined;
    }
    const { result } = tried;
    if (isThrottled(result)) {
      ex.sendError(429, 'too many failed logins from your address, try again later', {
        fields: `Retry-After: ${Math.ceil(result.retryAfterMs / 1000)}\r\n`,
        close,
      });
      return undefined;
    }
    if (!result.ok) {
      ex.sendError(401, 'wrong login or password', { fields: REALM, close });
      return undefined;
    }
    return result.user!;
  }

  private isInstructor(user: string): boolean {
    return this.options.auth?.instructors().some((i) => i.toLowerCase() === user) === true;
  }

  /** 403 unless `user` may replace or delete `name` (its owner, or an instructor); true when allowed. */
  private mayChange(ex: HttpExchange, user: string, name: string, exists: boolean): boolean {
    if (!exists || this.isInstructor(user)) return true;
    const owner = this.owners.get(name)?.owner;
    if (owner === user) return true;
    const whose =
      owner === undefined
        ? `${name} has no owner (uploaded before logins were needed); only an instructor may replace or delete it`
        : `${name} belongs to ${owner}; only ${owner} (or an instructor) may replace or delete it`;
    ex.sendError(403, whose, { close: ex.req.hasBody });
    return false;
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
    const user = await this.login(ex);
    if (user === undefined) return;
    await this.exclusive(async () => {
      const file = join(this.options.dir, name);
      const exists = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists) {
        ex.sendError(404, `no upload named ${name}`);
        return;
      }
      if (!this.mayChange(ex, user, name, true)) return;
      await unlink(file);
      this.files.invalidate(`/${name}`);
      if (this.owners.delete(name)) await this.saveOwners();
      ex.send(204, '');
    });
  }

  /** A cap a user's upload would pass, as the 507 text, or undefined. */
  private overUserCap(user: string, name: string, size: number): string | undefined {
    const { maxBytesPerUser = 0, maxFilesPerUser = 0 } = this.options;
    const mine = this.usage(user);
    const replacing = this.owners.get(name)?.owner === user ? this.owners.get(name)!.size : undefined;
    if (replacing === undefined && maxFilesPerUser > 0 && mine.files >= maxFilesPerUser)
      return `${user} already has ${mine.files} uploads, the most one user may keep (${maxFilesPerUser}); DELETE one first`;
    const after = mine.bytes - (replacing ?? 0) + size;
    if (maxBytesPerUser > 0 && after > maxBytesPerUser)
      return `${user}'s uploads would total ${after} octets, over the ${maxBytesPerUser} one user may keep; DELETE some first`;
    return undefined;
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
    const user = await this.login(ex);
    if (user === undefined) return;
    const file = join(dir, name);
    const isFile = (): Promise<boolean> =>
      stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
    // Checked before the body is read (no octet of it stored when refused), and again at commit.
    const precheck = async (existed: boolean): Promise<boolean> => {
      if (!this.mayChange(ex, user, name, existed)) return false;
      if (!existed) {
        const count = (await readdir(dir)).filter((n) => !n.startsWith('.')).length;
        if (count >= maxFiles) {
          ex.sendError(507, `the upload area holds its maximum of ${maxFiles} files; DELETE one first`, { close: req.hasBody });
          return false;
        }
      }
      const over = this.overUserCap(user, name, req.chunked ? 0 : req.contentLength);
      if (over !== undefined) {
        ex.sendError(507, over, { close: req.hasBody });
        return false;
      }
      return true;
    };
    if (!(await precheck(await isFile()))) return;
    const tmp = join(dir, `.put-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fh = await open(tmp, 'wx');
    let ok = false;
    let closed = false;
    try {
      let position = 0;
      const body = await ex.readBody(max, async (chunk) => {
        // Short writes loop until everything is written (or fail): an upload is never cut.
        position += await writeAll(fh, [chunk], position);
      });
      if (!body.overflow) await fh.datasync();
      await fh.close();
      closed = true;
      if (body.overflow) {
        ex.sendError(413, `uploads are at most ${max} octets`, { close: true });
        return;
      }
      await this.exclusive(async () => {
        const existed = await isFile();
        if (!this.mayChange(ex, user, name, existed)) return;
        const over = this.overUserCap(user, name, body.size);
        if (over !== undefined) {
          ex.sendError(507, over);
          return;
        }
        // The owner is recorded first: a crash before the rename leaves an entry whose file is
        // missing (dropped at the next start), never a file with the wrong owner. The file holds
        // owners only (sizes come from stat at start): a replacement that keeps the owner leaves it as it is.
        const previous = this.owners.get(name);
        const owner = previous !== undefined && this.isInstructor(user) ? previous.owner : user;
        this.owners.set(name, { owner, size: body.size });
        try {
          if (previous?.owner !== owner) await this.saveOwners();
          await rename(tmp, file);
          await fsyncDir(dir);
        } catch (err) {
          if (previous === undefined) this.owners.delete(name);
          else this.owners.set(name, previous);
          throw err;
        }
        ok = true;
        this.files.invalidate(`/${name}`);
        if (existed) ex.send(204, '');
        else ex.send(201, `Location: /upload/${name}\r\nContent-Type: text/plain; charset=utf-8\r\n`, `created /upload/${name} (${body.size} octets)\n`);
      });
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      ex.sendError(507, 'the disk is full: the upload was not stored', { close: true });
    } finally {
      if (!ok) {
        if (!closed) await fh.close().catch(() => {});
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
      const owner = this.owners.get(n)?.owner;
      if (s?.isFile())
        rows.push(
          `<li><a href="/upload/${encodeURIComponent(n)}">${escapeHtml(n)}</a> (${s.size} octets, ${owner === undefined ? 'no owner' : `by ${escapeHtml(owner)}`})</li>`,
        );
    }
    const html = htmlPage(
      'Uploads',
      `<p>${rows.length} of at most ${maxFiles} files, each up to ${maxFileBytes} octets.</p>
<ul>${rows.join('\n')}</ul>
<p>Anyone may read; writing needs your lab login, and only you (or an instructor) may replace or delete your files.</p>
<pre>curl -u NAME -T notes.txt http://HOST/upload/notes.txt     # PUT: 201 Created (204 when replaced)
curl http://HOST/upload/notes.txt                          # GET it back
curl -u NAME -X DELETE http://HOST/upload/notes.txt        # DELETE: 204</pre>`,
    );
    ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', html);
  }
}
