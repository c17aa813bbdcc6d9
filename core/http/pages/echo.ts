// /echo: answers a POST (or GET) with what arrived: method, target, version, header fields (secrets
// redacted), the body's size and SHA-256 and any trailer fields, as JSON or, with `?format=text` or
// `Accept: text/plain`, as text. The body is hashed as it streams in, never kept.
import { createHash } from 'node:crypto';
import type { HttpExchange } from '../exchange.js';
import type { HttpRoute } from '../routes.js';
import { shownFieldValue } from '../secret-fields.js';

export function echoRoute(maxBodyBytes: number): HttpRoute {
  return {
    path: '/echo',
    methods: ['GET', 'POST'],
    description: 'POST anything: answers with the method, headers, body size and SHA-256',
    handler: (ex) => echo(ex, maxBodyBytes),
  };
}

async function echo(ex: HttpExchange, maxBodyBytes: number): Promise<void> {
  const req = ex.req;
  const hash = createHash('sha256');
  const body = await ex.readBody(maxBodyBytes, (chunk) => {
    hash.update(chunk);
  });
  if (body.overflow) {
    ex.sendError(413, `/echo reads at most ${maxBodyBytes} octets`, { close: true });
    return;
  }
  const headers: Array<{ name: string; value: string }> = [];
  const f = req.fields;
  for (let i = 0; i < f.length; i += 2) headers.push({ name: f[i], value: shownFieldValue(f[i], f[i + 1]) });
  const trailers: Array<{ name: string; value: string }> = [];
  for (let i = 0; i < body.trailers.length; i += 2) trailers.push({ name: body.trailers[i], value: body.trailers[i + 1] });
  const sha256 = hash.digest('hex');
  const wantsText = /(^|&)format=text(&|$)/.test(req.query) || (req.accept !== undefined && req.accept.startsWith('text/plain'));
  if (wantsText) {
    let text = `${req.method} ${req.target} HTTP/${req.version === 10 ? '1.0' : '1.1'}\n`;
    for (const h of headers) text += `${h.name}: ${h.value}\n`;
    text += `\nbody: ${body.size} octets${req.chunked ? ' (chunked)' : ''}, sha256 ${sha256}\n`;
    for (const t of trailers) text += `trailer ${t.name}: ${t.value}\n`;
    ex.send(200, 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n', text);
    return;
  }
  const json = {
    method: req.method,
    target: req.target,
    version: req.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1',
    headers,
    body: { size: body.size, sha256, chunked: req.chunked },
    trailers,
  };
  ex.send(200, 'Content-Type: application/json\r\nCache-Control: no-store\r\n', `${JSON.stringify(json, null, 2)}\n`);
}
