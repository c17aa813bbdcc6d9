// GET and HEAD of files (RFC 9110 sections 9.3.1-9.3.2, 13 and 14): validators (ETag, Last-Modified),
// conditional requests answered 304 (If-None-Match before If-Modified-Since, section 13.2.2), and one
// byte range with 206 or 416 (If-Range honoured; several ranges are answered with the whole file, which
// section 14.2 allows). Small cached files go out as one prebuilt buffer per second and variant.
import { createReadStream } from 'node:fs';
import type { HttpExchange } from './exchange.js';
import type { FileArea, FileEntry } from './file-area.js';
import { commonFieldsStamp, commonFields, connectionField, parseHttpDate, statusLine } from './response.js';

/** Files up to this size are answered from one prebuilt buffer (head + body): one write, no writev. */
const PREBUILT_MAX = 128 * 1024;

/** Answers GET/HEAD for `path` in `area`; synchronous when the file is cached and fresh. */
export function serveFile(ex: HttpExchange, area: FileArea, path: string): void | Promise<void> {
  // One clock reading per request: the cache's freshness and the Date field's second (the engine's, taken
  // as the request arrived, when this runs in that turn).
  const now = ex.at > 0 ? ex.at : Date.now();
  const entry = area.fresh(path, now);
  if (entry !== undefined) return serveEntry(ex, entry, now);
  return lookupAndServe(ex, area, path);
}

async function lookupAndServe(ex: HttpExchange, area: FileArea, path: string): Promise<void> {
  const found = await area.lookup(path);
  switch (found.kind) {
    case 'missing':
      ex.sendError(404, `no file at ${path}`);
      return;
    case 'outside':
      ex.sendError(403, `${path} points outside the served directory`);
      return;
    case 'redirect':
      ex.send(301, `Location: ${found.location}\r\nContent-Type: text/plain; charset=utf-8\r\n`, `moved to ${found.location}\n`);
      return;
    case 'file':
      return serveEntry(ex, found.entry);
  }
}

function serveEntry(ex: HttpExchange, entry: FileEntry, now = Date.now()): void | Promise<void> {
  const req = ex.req;
  if (req.ifNoneMatch !== undefined) {
    if (etagMatches(req.ifNoneMatch, entry.etag)) {
      ex.send(304, `ETag: ${entry.etag}\r\nLast-Modified: ${entry.lastModified}\r\n`);
      return;
    }
  } else if (req.ifModifiedSince !== undefined) {
    const since = parseHttpDate(req.ifModifiedSince);
    if (!Number.isNaN(since) && Math.floor(entry.mtimeMs / 1000) * 1000 <= since) {
      ex.send(304, `ETag: ${entry.etag}\r\nLast-Modified: ${entry.lastModified}\r\n`);
      return;
    }
  }
  if (req.range !== undefined && req.method === 'GET' && ifRangeHolds(req.ifRange, entry)) {
    const r = parseRange(req.range, entry.size);
    if (r === 'unsatisfiable') {
      ex.sendError(416, `the range ${JSON.stringify(req.range.slice(0, 40))} is outside the file (${entry.size} octets)`, {
        fields: `Content-Range: bytes */${entry.size}\r\n`,
      });
      return;
    }
    if (r !== undefined) {
      const [start, end] = r;
      const fields = `${entry.fields}Content-Range: bytes ${start}-${end}/${entry.size}\r\n`;
      if (entry.data) ex.send(206, fields, entry.data.subarray(start, end + 1));
      else return streamFile(ex, entry, 206, fields, start, end);
      return;
    }
  }
  const data = entry.data;
  if (data !== undefined && data.length <= PREBUILT_MAX) {
    const keep = ex.decideKeepAlive();
    const variant = (ex.isHead ? 3 : 0) + (!keep ? 1 : req.version === 10 ? 2 : 0);
    const stamp = commonFieldsStamp(now);
    let pre = entry.prebuilt;
    if (pre === undefined || pre.stamp !== stamp) {
      pre = { stamp, responses: [], heads: [] };
      entry.prebuilt = pre;
    }
    let response = pre.responses[variant];
    if (response === undefined) {
      const head = `${statusLine(200)}${commonFields(now)}${entry.fields}Content-Length: ${data.length}\r\n${connectionField(keep, req.version)}\r\n`;
      if (ex.isHead) response = Buffer.from(head, 'latin1');
      else {
        response = Buffer.allocUnsafe(head.length + data.length);
        response.write(head, 0, 'latin1');
        data.copy(response, head.length);
      }
      pre.responses[variant] = response;
      pre.heads[variant] = head;
    }
    ex.sendPrebuilt(200, response, pre.heads[variant]);
    return;
  }
  if (data !== undefined) ex.send(200, entry.fields, data);
  else return streamFile(ex, entry, 200, entry.fields, 0, entry.size - 1);
}

async function streamFile(ex: HttpExchange, entry: FileEntry, status: number, fields: string, start: number, end: number): Promise<void> {
  const length = end - start + 1;
  ex.sendHead(status, fields, length);
  if (ex.isHead || length <= 0) return;
  const conn = ex.conn;
  let sent = 0;
  const stream = createReadStream(entry.fsPath, { start, end, highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (conn.closed) break;
      const c = sent + chunk.length > length ? chunk.subarray(0, length - sent) : chunk;
      sent += c.length;
      if (!conn.write(c)) await conn.drain();
      if (sent >= length) break;
    }
  } finally {
    stream.destroy();
  }
  // The file shrank under us: the promised length cannot be met, so the connection must end.
  if (sent < length) ex.closeAfter = true;
}

/** If-None-Match (RFC 9110 section 13.1.2): weak comparison against a list, or "*". */
export function etagMatches(header: string, etag: string): boolean {
  if (header === etag) return true;
  const h = header.trim();
  if (h === '*') return true;
  for (const part of h.split(',')) {
    let t = part.trim();
    if (t.startsWith('W/')) t = t.slice(2);
    if (t === etag) return true;
  }
  return false;
}

function ifRangeHolds(ifRange: string | undefined, entry: FileEntry): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"')) return v === entry.etag; // strong comparison (section 13.1.5)
  if (v.startsWith('W/')) return false;
  return v === entry.lastModified;
}

/**
 * One byte range (RFC 9110 section 14.1.2): [start, end] inclusive, 'unsatisfiable', or undefined
 * when the field is to be ignored (not bytes, malformed, or several ranges).
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const h = header.trim();
  if (!h.toLowerCase().startsWith('bytes=')) return undefined;
  const spec = h.slice(6).trim();
  if (spec.indexOf(',') >= 0) return undefined;
  const dash = spec.indexOf('-');
  if (dash < 0) return undefined;
  const a = spec.slice(0, dash).trim();
  const b = spec.slice(dash + 1).trim();
  const digits = (s: string): boolean => s.length > 0 && s.length <= 15 && /^[0-9]+$/.test(s);
  if (a === '') {
    if (!digits(b)) return undefined;
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  if (!digits(a) || (b !== '' && !digits(b))) return undefined;
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return [start, end];
}
