// The MIME tree of a message for the web inbox's "Structure" tab (RFC 2045, RFC 2046): each part's
// type, parameters, transfer encoding, disposition and size, nested as sent, so a student sees what
// multipart/alternative, base64 and quoted-printable look like in their own mail. Read-only and
// bounded (depth, parts, header octets); it never throws: what it cannot read becomes a leaf with a
// note. The header fields come from the one header parser (core/mail-format/header-fields.ts).
import { parseHeaderFields } from '../mail-format/header-fields.js';

export const MIME_TREE_LIMITS = {
  /** Nesting depth (RFC 2046 sets none; real mail stays under 10). */
  maxDepth: 16,
  /** Parts in all. */
  maxParts: 300,
  /** Octets of one part's header read. */
  maxHeadOctets: 64 * 1024,
  /** Parameters kept per field, and characters per value. */
  maxParams: 20,
  maxValue: 200,
} as const;

export interface MimeNode {
  /** 'text/plain' (RFC 2045 section 5.2 default when absent). */
  type: string;
  /** Content-Type parameters (charset, boundary, name...), lower-case names. */
  params: Record<string, string>;
  /** Content-Transfer-Encoding, lower case ('7bit' when absent). */
  encoding: string;
  /** 'inline' or 'attachment', when given. */
  disposition: string | null;
  filename: string | null;
  /** Octets of the body as transmitted (before decoding). */
  size: number;
  children: MimeNode[];
  /** Why the tree stops here (too deep, too many parts, no boundary found). */
  note?: string;
}

/** `type/subtype; a=b; c="d"` into the value and its parameters (quoted strings, RFC 2231 `*` names simplified). */
export function parseFieldParams(value: string): { value: string; params: Record<string, string> } {
  const text = value.slice(0, 4096);
  const semi = text.indexOf(';');
  const head = (semi < 0 ? text : text.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let pos = semi < 0 ? text.length : semi + 1;
  let n = 0;
  while (pos < text.length && n < MIME_TREE_LIMITS.maxParams) {
    n++;
    const eq = text.indexOf('=', pos);
    if (eq < 0) break;
    let name = text.slice(pos, eq).trim().toLowerCase();
    let v: string;
    let i = eq + 1;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '"') {
      let out = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        out += text[i];
        i++;
      }
      v = out;
      const next = text.indexOf(';', i);
      pos = next < 0 ? text.length : next + 1;
    } else {
      const next = text.indexOf(';', i);
      v = text.slice(i, next < 0 ? text.length : next).trim();
      pos = next < 0 ? text.length : next + 1;
    }
    if (name.endsWith('*')) {
      // RFC 2231: charset'language'percent-encoded
      name = name.slice(0, -1);
      const m = /^([^']*)'[^']*'(.*)$/.exec(v);
      if (m) {
        try {
          v =
            m[1].toLowerCase() === 'utf-8'
              ? decodeURIComponent(m[2])
              : m[2].replace(/%([0-9a-f]{2})/gi, (_, x: string) => String.fromCharCode(parseInt(x, 16)));
        } catch {
          v = m[2];
        }
      }
    }
    if (name !== '' && !/[\s]/.test(name)) params[name.slice(0, 60)] = v.slice(0, MIME_TREE_LIMITS.maxValue);
  }
  return { value: head, params };
}

/** The MIME tree of a message's octets. */
export function mimeTree(raw: Buffer): MimeNode {
  const budget = { parts: 0 };
  return walk(raw.toString('latin1'), 0, budget, 'text/plain');
}

function walk(part: string, depth: number, budget: { parts: number }, defaultType: string): MimeNode {
  budget.parts++;
  let headEnd = part.search(/\r?\n\r?\n/);
  let bodyStart: number;
  if (part.startsWith('\r\n') || part.startsWith('\n')) {
    headEnd = 0;
    bodyStart = part.startsWith('\r\n') ? 2 : 1;
  } else if (headEnd < 0 || headEnd > MIME_TREE_LIMITS.maxHeadOctets) {
    headEnd = Math.min(part.length, MIME_TREE_LIMITS.maxHeadOctets);
    bodyStart = part.length;
  } else bodyStart = headEnd + (part.slice(headEnd, headEnd + 4) === '\r\n\r\n' ? 4 : part[headEnd] === '\r' ? 3 : 2);
  const fields = parseHeaderFields(part.slice(0, headEnd));
  const get = (k: string): string | undefined => fields.find((f) => f.key === k)?.value;
  const ct = parseFieldParams(get('content-type') ?? defaultType);
  const type = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(ct.value) ? ct.value : 'text/plain';
  const cd = get('content-disposition');
  const disp = cd !== undefined ? parseFieldParams(cd) : undefined;
  const body = part.slice(bodyStart);
  const node: MimeNode = {
    type,
    params: ct.params,
    encoding: (get('content-transfer-encoding') ?? '7bit').toLowerCase().slice(0, 40),
    disposition: disp?.value ?? null,
    filename: disp?.params.filename ?? ct.params.name ?? null,
    size: body.length,
    children: [],
  };
  if (type === 'message/rfc822' && depth < MIME_TREE_LIMITS.maxDepth && budget.parts < MIME_TREE_LIMITS.maxParts) {
    node.children.push(walk(body, depth + 1, budget, 'text/plain'));
    return node;
  }
  if (!type.startsWith('multipart/')) return node;
  const boundary = ct.params.boundary;
  if (boundary === undefined || boundary === '' || boundary.length > 70) {
    node.note = 'multipart without a usable boundary parameter';
    return node;
  }
  if (depth >= MIME_TREE_LIMITS.maxDepth) {
    node.note = `nested deeper than ${MIME_TREE_LIMITS.maxDepth}: not shown`;
    return node;
  }
  // RFC 2046 section 5.1.1: a delimiter is CRLF "--" boundary at the start of a line; the last one ends in "--".
  const delim = `--${boundary}`;
  /** Where each part's content starts, and where the line break before each delimiter is. */
  const starts: number[] = [];
  const breaks: number[] = [];
  let closed = false;
  let i = body.startsWith(delim) ? 0 : body.indexOf(`\n${delim}`);
  while (i >= 0) {
    const at = body[i] === '\n' ? i + 1 : i;
    const after = at + delim.length;
    const c = body[after];
    if (c !== undefined && c !== '-' && c !== ' ' && c !== '\t' && c !== '\r' && c !== '\n') {
      i = body.indexOf(`\n${delim}`, after);
      continue;
    }
    breaks.push(i);
    if (body.startsWith('--', after)) {
      closed = true;
      break;
    }
    const nl = body.indexOf('\n', after);
    if (nl < 0) break;
    starts.push(nl + 1);
    i = body.indexOf(`\n${delim}`, nl);
  }
  for (let k = 0; k < starts.length; k++) {
    if (budget.parts >= MIME_TREE_LIMITS.maxParts) {
      node.note = `more than ${MIME_TREE_LIMITS.maxParts} parts: the rest is not shown`;
      break;
    }
    const from = starts[k];
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
    const brk = breaks[k + 1];
    let to = brk === undefined ? body.length : brk;
    if (brk !== undefined && to > from && body[to - 1] === '\r') to--;
    node.children.push(walk(body.slice(from, Math.max(from, to)), depth + 1, budget, type === 'multipart/digest' ? 'message/rfc822' : 'text/plain'));
  }
  if (starts.length > 0 && !closed && node.note === undefined) node.note = 'the closing delimiter is missing';
  if (starts.length === 0) node.note = 'no part found for the boundary';
  return node;
}
