// BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2, grammar "body" in section 9): the MIME tree as
// nested lists. BODYSTRUCTURE adds the extension data (MD5, disposition, language, location).
import { envelope } from './envelope.js';
import { countLines, headerValue, parseParamHeader, type MimePart } from './mime.js';
import { list, nstr, str } from './imap-writer.js';

function params(p: Array<[string, string]>): string {
  if (p.length === 0) return 'NIL';
  return list(p.flatMap(([k, v]) => [str(k), str(v)]));
}

function disposition(part: MimePart): string {
  const raw = headerValue(part, 'content-disposition');
  if (raw === undefined) return 'NIL';
  const { value, params: p } = parseParamHeader(raw);
  if (value.length === 0) return 'NIL';
  return list([str(value), params(p)]);
}

function language(part: MimePart): string {
  const raw = headerValue(part, 'content-language');
  if (raw === undefined) return 'NIL';
  const langs = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (langs.length === 0) return 'NIL';
  if (langs.length === 1) return str(langs[0]);
  return list(langs.map(str));
}

function single(s: string | undefined): string {
  return nstr(s === undefined ? null : s);
}

/** Serialises the body structure of `part` (in `buf`). */
export function bodyStructure(buf: Buffer, part: MimePart, extended: boolean): string {
  const ct = part.contentType;
  if (ct.type === 'multipart') {
    const children = part.parts ?? [];
    // A multipart with no parts is not expressible (body-type-mpart needs 1*body): show an empty text part.
    const kids = children.length > 0 ? children.map((c) => bodyStructure(buf, c, extended)).join('') : '("text" "plain" NIL NIL NIL "7bit" 0 0)';
    const fields = [kids, str(ct.subtype)];
    if (extended) fields.push(params(ct.params), disposition(part), language(part), single(headerValue(part, 'content-location')));
    return `(${fields[0]} ${fields.slice(1).join(' ')})`;
  }
  const size = part.end - part.bodyStart;
  const enc = headerValue(part, 'content-transfer-encoding');
  const fields = [
    str(ct.type),
    str(ct.subtype),
    params(ct.params),
    single(headerValue(part, 'content-id')),
    single(headerValue(part, 'content-description')),
    str(enc && enc.length > 0 ? enc.split(/[\s(]/)[0] : '7bit'),
    String(size),
  ];
  if (part.message) {
    fields.push(envelope(part.message.headers), bodyStructure(buf, part.message, extended), String(countLines(buf, part.bodyStart, part.end)));
  } else if (ct.type === 'text') {
    fields.push(String(countLines(buf, part.bodyStart, part.end)));
  }
  if (extended) fields.push(single(headerValue(part, 'content-md5')), disposition(part), language(part), single(headerValue(part, 'content-location')));
  return list(fields);
}
