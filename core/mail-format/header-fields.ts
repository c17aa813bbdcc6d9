// The one header-field parser (RFC 5322 section 2.2) for everything that reads message heads: the
// mail store's index (Subject, From, Date... for ENVELOPE and SEARCH) and IMAP's MIME parser
// (Content-* fields). It works on text the caller decoded (UTF-8 for the index, binary strings for
// IMAP) and never throws.

export interface HeaderField {
  /** Lower-case field name. */
  key: string;
  /** Unfolded value, leading and trailing white space removed. */
  value: string;
}

/**
 * Calls `visit` for each field of a header block, in order, until the first empty line (the end of the
 * header) or until `visit` returns false. Folded lines are unfolded (section 2.2.3: only the line
 * break before the white space goes). A field needs a colon and a name without white space; other
 * lines are skipped, and so is a continuation line with no field to continue.
 */
export function forEachHeaderField(text: string, visit: (key: string, value: string) => boolean | void): void {
  let field: string | undefined;
  const emit = (f: string): boolean => {
    const colon = f.indexOf(':');
    if (colon <= 0) return true;
    const key = f.slice(0, colon).trim().toLowerCase();
    if (key.length === 0 || /\s/.test(key)) return true;
    return visit(key, f.slice(colon + 1).trim()) !== false;
  };
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const end = nl > pos && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
    const line = text.slice(pos, end);
    pos = nl + 1;
    if (line.length === 0) break;
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      if (field !== undefined) field += line;
      continue;
    }
    if (field !== undefined && !emit(field)) return;
    field = line;
  }
  if (field !== undefined) emit(field);
}

/** Every field of a header block, in order. */
export function parseHeaderFields(text: string): HeaderField[] {
  const out: HeaderField[] = [];
  forEachHeaderField(text, (key, value) => {
    out.push({ key, value });
  });
  return out;
}
