// LIST and LSUB mailbox patterns (RFC 3501 section 6.3.8): "*" matches any run of characters, "%" any
// run without the hierarchy delimiter. Matched by walking all positions of the pattern at once (a
// Thompson-style simulation), never by backtracking: the cost is at most (name length) x (pattern
// length), so `a LIST "" "<300 stars>!"` answers at once. Runs of wildcards are folded first ("**" is
// "*", "%*" is "*", "%%" is "%") and the pattern is capped in length (IMAP_LIMITS.maxListPattern).

const STAR = -1;
const PERCENT = -2;

/** A compiled pattern: code points, with STAR and PERCENT for the wildcards. */
function compile(pattern: string): number[] {
  const out: number[] = [];
  for (const ch of pattern) {
    const c = ch === '*' ? STAR : ch === '%' ? PERCENT : ch.codePointAt(0)!;
    const last = out.length > 0 ? out[out.length - 1] : 0;
    if (c === STAR && (last === STAR || last === PERCENT)) {
      // "%*" and "**" are "*": drop the "%" (or the repeated "*") that came before.
      while (out.length > 0 && (out[out.length - 1] === STAR || out[out.length - 1] === PERCENT)) out.pop();
      out.push(STAR);
    } else if (c === PERCENT && (last === STAR || last === PERCENT)) {
      // "*%" is "*", "%%" is "%".
    } else out.push(c);
  }
  return out;
}

/** True when `name` matches the compiled pattern `p` with hierarchy delimiter `delim` (a code point). */
function matches(p: readonly number[], name: string, delim: number): boolean {
  const m = p.length;
  let cur = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  // A wildcard matches the empty string: the position after it is active too.
  const close = (set: Uint8Array): void => {
    for (let i = 0; i < m; i++) if (set[i] === 1 && p[i] < 0) set[i + 1] = 1;
  };
  cur[0] = 1;
  close(cur);
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    next.fill(0);
    let any = false;
    for (let i = 0; i < m; i++) {
      if (cur[i] !== 1) continue;
      const pc = p[i];
      if (pc === STAR || (pc === PERCENT && c !== delim)) {
        next[i] = 1;
        any = true;
      } else if (pc === c) {
        next[i + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    [cur, next] = [next, cur];
  }
  return cur[m] === 1;
}

/**
 * A matcher for one LIST pattern (reference already prepended). INBOX is case-insensitive (section
 * 5.1): a pattern starting with any case of "inbox" also matches with "INBOX" there.
 */
export function patternMatcher(pattern: string, delimiter: string): (name: string) => boolean {
  const delim = delimiter.codePointAt(0) ?? -3;
  const p = compile(pattern);
  const inbox = /^inbox/i.test(pattern) ? compile(`INBOX${pattern.slice(5)}`) : undefined;
  return (name) => matches(p, name, delim) || (inbox !== undefined && matches(inbox, name, delim));
}
