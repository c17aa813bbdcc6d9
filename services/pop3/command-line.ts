// Parses one POP3 command line (the framer has already removed CRLF and enforced the length cap).
// RFC 1939 section 3: a keyword, then arguments separated by a single space; keywords are
// case-insensitive. We are lenient where it costs nothing (runs of spaces, trailing spaces) and
// strict where it matters: control characters (NUL, bare CR, ...) are refused, never passed on.

export type CommandLineErrorCode = 'EMPTY' | 'CONTROL_CHARACTER' | 'BAD_KEYWORD' | 'NOT_UTF8';

export interface ParsedCommandLine {
  ok: true;
  /** Upper-case keyword. */
  name: string;
  /** Arguments split on runs of spaces (none empty). */
  args: string[];
  /**
   * Everything after the first space, unchanged. PASS takes it whole: RFC 1939 section 7 lets a
   * server treat spaces in the password as part of it.
   */
  rest: string;
  /** The keyword and arguments joined by single spaces (what the command table looks up). */
  normalized: string;
}

export interface CommandLineError {
  ok: false;
  code: CommandLineErrorCode;
  reason: string;
}

/** RFC 2449 section 3 allows keywords of 3 or 4 printable characters; we look up anything shortish. */
const MAX_KEYWORD = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseCommandLine(line: Uint8Array): ParsedCommandLine | CommandLineError {
  let ascii = true;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c < 0x20 || c === 0x7f) return { ok: false, code: 'CONTROL_CHARACTER', reason: `control character 0x${c.toString(16).padStart(2, '0')} in command` };
    if (c >= 0x80) ascii = false;
  }
  let text: string;
  if (ascii) {
    text = Buffer.from(line.buffer, line.byteOffset, line.length).toString('latin1');
  } else {
    try {
      text = utf8.decode(line);
    } catch {
      return { ok: false, code: 'NOT_UTF8', reason: 'command is not valid UTF-8' };
    }
  }
  let start = 0;
  while (start < text.length && text.charCodeAt(start) === 0x20) start++;
  if (start === text.length) return { ok: false, code: 'EMPTY', reason: 'empty command' };
  const sp = text.indexOf(' ', start);
  const keyword = sp < 0 ? text.slice(start) : text.slice(start, sp);
  if (keyword.length > MAX_KEYWORD || !/^[\x21-\x7e]+$/.test(keyword)) {
    return { ok: false, code: 'BAD_KEYWORD', reason: 'command keyword must be a short word of printable ASCII' };
  }
  const name = keyword.toUpperCase();
  const rest = sp < 0 ? '' : text.slice(sp + 1);
  const args = rest.split(' ').filter((a) => a.length > 0);
  const normalized = args.length === 0 ? name : `${name} ${args.join(' ')}`;
  return { ok: true, name, args, rest, normalized };
}
