// A directory served over HTTP (the document root, the upload area). Lookups resolve the normalised
// URL path under the root with realpath() and refuse anything whose real location is outside the root
// (a symlink pointing out). Small files are kept in memory; an entry is trusted for one second and then
// revalidated with stat (inode, size, mtime), so an edited file shows up within a second.
import { open, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isInside } from './paths.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.wasm': 'application/wasm',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.crt': 'application/x-x509-ca-cert',
  '.pem': 'application/x-pem-file',
  '.eml': 'message/rfc822',
};

export function contentTypeFor(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

export interface FileEntry {
  urlPath: string;
  /** Real path (after realpath). */
  fsPath: string;
  size: number;
  mtimeMs: number;
  ino: number;
  etag: string;
  lastModified: string;
  contentType: string;
  /** The content when the file is small enough to cache. */
  data: Buffer | undefined;
  /** When the entry was last checked against the file system. */
  checkedAt: number;
  /** "Content-Type: ...\r\nLast-Modified: ...\r\nETag: ...\r\nAccept-Ranges: bytes\r\n" */
  fields: string;
  /**
   * Complete 200 responses for this second, by variant (see static-handler.ts), and each one's head as
   * text (a recorded reply shows the head: the same string every time, never the body converted).
   */
  prebuilt: { stamp: number; responses: Array<Buffer | undefined>; heads: string[] } | undefined;
}

export type FileLookup = { kind: 'file'; entry: FileEntry } | { kind: 'redirect'; location: string } | { kind: 'missing' } | { kind: 'outside' };

export interface FileAreaOptions {
  /** Index file served for a directory URL ending in "/" (null: none). */
  index: string | null;
  cacheMaxFileBytes: number;
  cacheMaxTotalBytes: number;
  /** An entry is trusted this long before stat revalidates it. */
  revalidateMs?: number;
  /**
   * Files anyone may have written (the upload area): served so they can never run script in the lab's
   * origin: a sandbox CSP (no scripts, an opaque origin), nosniff, and active types (HTML, SVG,
   * JavaScript, XML) as attachments.
   */
  passive?: boolean;
}

/** Types a browser would run or render as a document in the lab's origin. */
const ACTIVE_TYPES = /^(text\/html|image\/svg\+xml|text\/javascript|application\/xml|application\/wasm)/;

/** The fields every response of a passive area carries (see FileAreaOptions.passive). */
export function passiveFields(contentType: string): string {
  const base =
    "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; media-src 'self'\r\n";
  return ACTIVE_TYPES.test(contentType) ? `${base}Content-Disposition: attachment\r\n` : base;
}

export class FileArea {
  private realRoot = '';
  private readonly cache = new Map<string, FileEntry>();
  private cachedBytes = 0;
  private readonly revalidateMs: number;

  constructor(
    readonly root: string,
    private readonly options: FileAreaOptions,
  ) {
    this.revalidateMs = options.revalidateMs ?? 1000;
  }

  async init(): Promise<void> {
    this.realRoot = await realpath(this.root);
  }

  /** A cached entry still inside its trust window (synchronous fast path), else undefined. */
  fresh(urlPath: string, now: number): FileEntry | undefined {
    const e = this.cache.get(urlPath);
    if (e !== undefined && now - e.checkedAt < this.revalidateMs) return e;
    return undefined;
  }

  invalidate(urlPath: string): void {
    const e = this.cache.get(urlPath);
    if (e) {
      this.cache.delete(urlPath);
      this.cachedBytes -= e.data?.length ?? 0;
    }
  }

  /** Resolves a normalised URL path ("/a/b.txt", "/dir/") under the root. */
  async lookup(urlPath: string): Promise<FileLookup> {
    const now = Date.now();
    const old = this.cache.get(urlPath);
    if (old) {
      if (now - old.checkedAt < this.revalidateMs) return { kind: 'file', entry: old };
      try {
        const st = await stat(old.fsPath);
        if (st.isFile() && st.ino === old.ino && st.size === old.size && st.mtimeMs === old.mtimeMs) {
          old.checkedAt = now;
          return { kind: 'file', entry: old };
        }
      } catch {
        // gone: look it up afresh below
      }
      this.invalidate(urlPath);
    }
    let real: string;
    try {
      real = await realpath(join(this.realRoot, urlPath));
    } catch {
      return { kind: 'missing' };
    }
    if (!isInside(this.realRoot, real)) return { kind: 'outside' };
    let st = await stat(real).catch(() => undefined);
    if (!st) return { kind: 'missing' };
    if (st.isDirectory()) {
      if (!urlPath.endsWith('/')) return { kind: 'redirect', location: `${urlPath}/` };
      if (!this.options.index) return { kind: 'missing' };
      try {
        real = await realpath(join(real, this.options.index));
      } catch {
        return { kind: 'missing' };
      }
      if (!isInside(this.realRoot, real)) return { kind: 'outside' };
      st = await stat(real).catch(() => undefined);
      if (!st) return { kind: 'missing' };
    } else if (urlPath.endsWith('/')) {
      return { kind: 'missing' };
    }
    if (!st.isFile()) return { kind: 'missing' };
    let data: Buffer | undefined;
    let size = st.size;
    let mtimeMs = st.mtimeMs;
    let ino = st.ino;
    if (size <= this.options.cacheMaxFileBytes) {
      // Read and stat through one descriptor so content and validators agree.
      const fh = await open(real, 'r').catch(() => undefined);
      if (!fh) return { kind: 'missing' };
      try {
        const st2 = await fh.stat();
        size = st2.size;
        mtimeMs = st2.mtimeMs;
        ino = st2.ino;
        if (size <= this.options.cacheMaxFileBytes) data = await fh.readFile();
        if (data && data.length !== size) data = undefined;
      } finally {
        await fh.close();
      }
    }
    const mtimeSec = Math.floor(mtimeMs / 1000);
    const etag = `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`;
    const lastModified = new Date(mtimeSec * 1000).toUTCString();
    const contentType = contentTypeFor(real);
    const entry: FileEntry = {
      urlPath,
      fsPath: real,
      size,
      mtimeMs,
      ino,
      etag,
      lastModified,
      contentType,
      data,
      checkedAt: now,
      fields: `Content-Type: ${contentType}\r\nLast-Modified: ${lastModified}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n${this.options.passive === true ? passiveFields(contentType) : ''}`,
      prebuilt: undefined,
    };
    if (data) {
      if (this.cachedBytes + data.length > this.options.cacheMaxTotalBytes || this.cache.size >= 10_000) {
        this.cache.clear();
        this.cachedBytes = 0;
      }
      this.cachedBytes += data.length;
    }
    this.cache.set(urlPath, entry);
    return { kind: 'file', entry };
  }
}
