// Header fields whose values never leave the server in an echo (/echo, TRACE): credentials and
// session cookies are shown as <redacted> (the cross-site tracing lesson, RFC 9110 section 9.3.8).
const SECRET_FIELDS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** The lengths of SECRET_FIELDS' names: a name of another length is not lowercased to be looked up. */
const SECRET_LENGTHS: ReadonlySet<number> = new Set([...SECRET_FIELDS].map((n) => n.length));

/** The value to show for a header field: the value itself, or `<redacted>` for credentials and cookies. */
export function shownFieldValue(name: string, value: string): string {
  return SECRET_LENGTHS.has(name.length) && SECRET_FIELDS.has(name.toLowerCase()) ? '<redacted>' : value;
}

/**
 * The last fields shown (a copy) and their text: a flood of like requests sends the same fields again
 * and again, and their events then share one text. Fields with a secret in them are never kept here.
 */
let lastFields: readonly string[] = [];
let lastFieldsShown = '';

/** Header fields (flat name, value list) as text lines for an event payload, credentials and cookies redacted. */
export function shownFields(fields: readonly string[]): string {
  if (sameFields(fields, lastFields)) return lastFieldsShown;
  let out = '';
  let secret = false;
  for (let i = 0; i + 1 < fields.length && out.length < 16 * 1024; i += 2) {
    const value = shownFieldValue(fields[i], fields[i + 1]);
    if (value !== fields[i + 1]) secret = true;
    out += `${fields[i]}: ${value}\r\n`;
  }
  lastFields = secret ? [] : fields.slice();
  lastFieldsShown = secret ? '' : out;
  return out;
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last head shown and its text: a static file's prebuilt head is the same string for a second. */
let lastHead = '';
let lastShown = '';

/** A response head (status line and fields) as event payload text, Set-Cookie values redacted; the status line is left out. */
export function shownHead(head: string): string {
  if (head === lastHead) return lastShown;
  lastShown = showHead(head);
  lastHead = head;
  return lastShown;
}

function showHead(head: string): string {
  const end = head.indexOf('\r\n\r\n');
  const text = (end < 0 ? head : head.slice(0, end)).slice(0, 16 * 1024);
  const lines = text.split('\r\n').slice(1);
  return lines
    .map((l) => {
      const colon = l.indexOf(':');
      return colon > 0 ? `${l.slice(0, colon)}: ${shownFieldValue(l.slice(0, colon), l.slice(colon + 1).trim())}` : l;
    })
    .join('\r\n')
    .concat(lines.length > 0 ? '\r\n' : '');
}
