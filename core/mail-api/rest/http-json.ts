// JSON in and out for the REST API: bodies with a size cap, answers as application/json, errors as
// problem details (RFC 9457) with a stable `code` from the error catalogue.
import type { HttpExchange } from '../../http/exchange.js';
import { MAIL_API_LIMITS } from '../limits.js';

const JSON_FIELDS = 'Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n';

export function sendJson(ex: HttpExchange, status: number, value: unknown, fields = ''): void {
  ex.send(status, `${JSON_FIELDS}${fields}`, `${JSON.stringify(value)}\n`);
}

/** An error answer (RFC 9457 problem details): `title` says what, `detail` why and what to do. */
export function sendProblem(ex: HttpExchange, status: number, code: string, detail: string, fields = ''): void {
  const title = PROBLEM_TITLES[status] ?? 'Error';
  ex.send(
    status,
    `Content-Type: application/problem+json; charset=utf-8\r\nCache-Control: no-store\r\n${fields}`,
    `${JSON.stringify({ title, status, code, detail })}\n`,
  );
}

const PROBLEM_TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Authentication required',
  404: 'Not found',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  503: 'Service unavailable',
};

/** Thrown inside a handler to answer with a problem. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a JSON object body (at most maxJsonBodyBytes); ApiProblem when it is missing or not JSON. */
export async function readJsonObject(ex: HttpExchange): Promise<Record<string, unknown>> {
  const type = ex.req.get('content-type');
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) throw new ApiProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  const chunks: Buffer[] = [];
  const body = await ex.readBody(MAIL_API_LIMITS.maxJsonBodyBytes, (c) => {
    chunks.push(Buffer.from(c));
  });
  if (body.overflow) {
    ex.closeAfter = true;
    throw new ApiProblem(413, 'BODY_TOO_LARGE', `a JSON body is at most ${MAIL_API_LIMITS.maxJsonBodyBytes} octets`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiProblem(400, 'INVALID_JSON', 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiProblem(400, 'INVALID_JSON', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Query parameters: only `allowed` ones, each at most once and of bounded length. */
export function queryParams(ex: HttpExchange, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (ex.req.query === '') return out;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(ex.req.query);
  } catch {
    throw new ApiProblem(400, 'INVALID_QUERY', 'the query string cannot be read');
  }
  for (const [k, v] of params) {
    if (!allowed.includes(k)) throw new ApiProblem(400, 'INVALID_QUERY', `unknown query parameter "${k.slice(0, 40)}"; expected some of ${allowed.join(', ')}`);
    if (out.has(k)) throw new ApiProblem(400, 'INVALID_QUERY', `the query parameter "${k}" is given twice`);
    if (v.length > MAIL_API_LIMITS.maxQueryValueLength)
      throw new ApiProblem(400, 'INVALID_QUERY', `"${k}" is longer than ${MAIL_API_LIMITS.maxQueryValueLength} characters`);
    out.set(k, v);
  }
  return out;
}

/** A whole number in [min, max] from a query value, or `def` when absent. */
export function intParam(params: Map<string, string>, name: string, def: number, min: number, max: number): number {
  const v = params.get(name);
  if (v === undefined) return def;
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min || Number(v) > max)
    throw new ApiProblem(400, 'INVALID_QUERY', `"${name}" must be a whole number from ${min} to ${max}`);
  return Number(v);
}

/** A media type we can put in a header as is (type/subtype of token characters), else octet-stream. */
export function safeContentType(t: string): string {
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(t) ? t : 'application/octet-stream';
}

/** RFC 6266: an ASCII fallback and the UTF-8 name (RFC 8187) for everything else. */
export function contentDisposition(filename: string): string {
  // Lone surrogates (a badly decoded name) would make encodeURIComponent throw.
  const name = filename.slice(0, 200).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
