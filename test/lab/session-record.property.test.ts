// The hub's in-place scan of an HTTP request line (core/lab/session-record.ts requestTargetEnd) finds
// the method and target exactly where /^([A-Z]+) (\S+)/ does, whatever the line: the status line's
// request (method, path) in the transcript depends on it.
import test from 'ava';
import fc from 'fast-check';
import { requestTargetEnd } from '../../core/lab/session-record.js';

const REQUEST = /^([A-Z]+) (\S+)/;

/** What the scan says, as the regular expression would give it: [method, target] or undefined. */
function scanned(text: string): [string, string] | undefined {
  const end = requestTargetEnd(text);
  if (end < 0) return undefined;
  const space = text.indexOf(' ');
  return [text.slice(0, space), text.slice(space + 1, end)];
}

function matched(text: string): [string, string] | undefined {
  const m = REQUEST.exec(text);
  return m ? [m[1], m[2]] : undefined;
}

// Request-line pieces, and every character \s knows as a separator, so the targets end on each of them.
const piece = fc.oneof(
  fc.constantFrom('GET', 'POST', 'get', 'M-SEARCH', ' ', '  ', '/', '/lab?x=1', 'HTTP/1.1', '', '\t', '\r', '\n', '\v', '\f'),
  fc.constantFrom('\u00a0', '\u1680', '\u2000', '\u200a', '\u200b', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u0085', '\u180e'),
  fc.string({ unit: 'grapheme-composite', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const line = fc.array(piece, { maxLength: 8 }).map((xs) => xs.join(''));

test('the request scan agrees with /^([A-Z]+) (\\S+)/ on any line', (t) => {
  fc.assert(
    fc.property(line, (text) => JSON.stringify(scanned(text)) === JSON.stringify(matched(text))),
    { numRuns: 20_000 },
  );
  t.deepEqual(scanned('GET /index.html HTTP/1.1'), ['GET', '/index.html']);
  t.is(requestTargetEnd('GET  /x'), -1);
});
