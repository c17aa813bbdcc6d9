// Request bodies (RFC 9112 section 6 and 7): Content-Length bodies and the chunked transfer coding,
// streamed from the framer to a sink with a size cap. The chunk-size line is strict (hex digits, then
// optional chunk extensions, which are ignored); trailer fields are limited in number and size and
// kept apart from the header fields (RFC 9110 section 6.5: never merged blindly).
import type { LineFramer } from '../line-framer.js';
import { FramerError } from '../line-framer.js';
import { HttpParseError } from './request-parser.js';

export type BodySink = (chunk: Buffer) => void | Promise<void>;

export interface BodyResult {
  /** Octets of content received (past the limit too, when the rest was drained). */
  size: number;
  /** More than `max` octets: the sink stopped receiving at the limit. */
  overflow: boolean;
  /** Trailer fields after a chunked body, flat name, value pairs. */
  trailers: string[];
}

export interface BodyLimits {
  maxChunkLineBytes: number;
  maxTrailerCount: number;
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** The chunk-size of a chunk line (RFC 9112 section 7.1), or -1 if malformed. Sizes above 2^40 are refused. */
export function parseChunkSizeLine(line: Buffer): number {
  let i = 0;
  let n = 0;
  while (i < line.length && HEX[line[i]] >= 0) {
    if (i >= 10) return -1;
    n = n * 16 + HEX[line[i]];
    i++;
  }
  if (i === 0) return -1;
  // BWS before ';' then chunk-ext; anything else after the size is malformed.
  let j = i;
  while (j < line.length && (line[j] === 0x20 || line[j] === 0x09)) j++;
  if (j === line.length) return j === i ? n : -1;
  if (line[j] !== 0x3b) return -1;
  for (let k = j; k < line.length; k++) {
    const c = line[k];
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return -1;
  }
  return n;
}

/**
 * Reads a request body. With `stopAtLimit`, a Content-Length body larger than `max` is not read at
 * all (the caller answers 413 and closes); a chunked body is read until it passes `max`, then
 * reading stops with overflow set. Throws HttpParseError for malformed chunked framing and when the
 * input ends early (the connection must close).
 */
export async function readRequestBody(
  framer: LineFramer,
  contentLength: number,
  chunked: boolean,
  max: number,
  sink: BodySink | undefined,
  limits: BodyLimits,
): Promise<BodyResult> {
  const result: BodyResult = { size: 0, overflow: false, trailers: [] };
  if (!chunked) {
    if (contentLength <= 0) return result;
    if (contentLength > max) {
      result.overflow = true;
      result.size = contentLength;
      return result;
    }
    let left = contentLength;
    while (left > 0) {
      const chunk = await framer.readChunk(left);
      if (chunk === null) throw new HttpParseError(400, `the body ended after ${contentLength - left} of ${contentLength} octets`);
      left -= chunk.length;
      result.size += chunk.length;
      if (sink) {
        const p = sink(chunk);
        if (p) await p;
      }
    }
    return result;
  }
  for (;;) {
    const line = await readFramingLine(framer, limits.maxChunkLineBytes, 'chunk size line');
    const size = parseChunkSizeLine(line);
    if (size < 0) throw new HttpParseError(400, `malformed chunk size line: ${JSON.stringify(line.toString('latin1').slice(0, 40))}`);
    if (size === 0) break;
    if (result.size + size > max) {
      result.overflow = true;
      result.size += size;
      return result;
    }
    let left = size;
    while (left > 0) {
      const chunk = await framer.readChunk(left);
      if (chunk === null) throw new HttpParseError(400, 'the chunked body ended in the middle of a chunk');
      left -= chunk.length;
      result.size += chunk.length;
      if (sink) {
        const p = sink(chunk);
        if (p) await p;
      }
    }
    const end = await readFramingLine(framer, limits.maxChunkLineBytes, 'chunk end');
    if (end.length !== 0) throw new HttpParseError(400, 'chunk data longer than its chunk size');
  }
  // trailer-section (RFC 9112 section 7.1.2).
  for (;;) {
    const line = await readFramingLine(framer, limits.maxChunkLineBytes, 'trailer line');
    if (line.length === 0) break;
    if (result.trailers.length / 2 >= limits.maxTrailerCount) throw new HttpParseError(431, `more than ${limits.maxTrailerCount} trailer fields`);
    const s = line.toString('latin1');
    const colon = s.indexOf(':');
    if (colon <= 0 || /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s.slice(0, colon))) throw new HttpParseError(400, 'malformed trailer field');
    result.trailers.push(s.slice(0, colon), s.slice(colon + 1).trim());
  }
  return result;
}

async function readFramingLine(framer: LineFramer, max: number, what: string): Promise<Buffer> {
  let line: Buffer | null;
  try {
    line = await framer.readLine(max);
  } catch (err) {
    if (err instanceof FramerError) throw new HttpParseError(what === 'trailer line' ? 431 : 400, `${what} longer than ${max} octets`);
    throw err;
  }
  if (line === null) throw new HttpParseError(400, `the chunked body ended before its last chunk (${what})`);
  return line;
}
