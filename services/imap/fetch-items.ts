// FETCH data items (RFC 3501 section 6.4.5): parsed once per command into a list the renderer walks.
import type { Token } from './command-parser.js';
import { bad } from './imap-errors.js';
import { parseSection, type SectionSpec } from './fetch-body-section.js';

export type FetchItem =
  | { k: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' | 'MODSEQ' }
  | {
      k: 'SECTION';
      section: SectionSpec;
      peek: boolean;
      partial?: { offset: number; length: number };
      /** BINARY[...] ('data') or BINARY.SIZE[...] ('size') of RFC 3516: the part with its transfer encoding decoded. */
      binary?: 'data' | 'size';
    };

export interface FetchPlan {
  items: FetchItem[];
  /** Message octets are needed (sections, structure, RFC822*). */
  needsText: boolean;
  /** Some item sets \Seen (BODY[...] without PEEK, RFC822, RFC822.TEXT). */
  setsSeen: boolean;
}

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SIMPLE = new Set([
  'UID',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'MODSEQ',
]);

function parseItem(text: string): FetchItem {
  const up = text.toUpperCase();
  if (SIMPLE.has(up)) return { k: up as 'UID' };
  const m = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[(.*)\](?:<(\d{1,10})\.(\d{1,10})>)?$/is.exec(text);
  if (!m) throw bad(`unknown FETCH item ${text.slice(0, 60)}`);
  const name = m[1].toUpperCase();
  const binary = name === 'BINARY.SIZE' ? 'size' : name.startsWith('BINARY') ? 'data' : undefined;
  // RFC 3516 section 7: section-binary is part numbers only (no HEADER, TEXT or MIME).
  if (binary && !/^(?:[1-9]\d{0,8}(?:\.[1-9]\d{0,8})*)?$/.test(m[2])) throw bad(`invalid binary section [${m[2].slice(0, 60)}]`);
  if (binary === 'size' && m[3] !== undefined) throw bad('BINARY.SIZE takes no partial');
  const section = parseSection(m[2]);
  if (!section) throw bad(`invalid section [${m[2].slice(0, 60)}]`);
  const item: FetchItem = { k: 'SECTION', section, peek: name === 'BODY.PEEK' || name === 'BINARY.PEEK' || binary === 'size' };
  if (binary) item.binary = binary;
  if (m[3] !== undefined) {
    const length = Number(m[4]);
    if (length === 0) throw bad('a partial of length 0');
    item.partial = { offset: Number(m[3]), length };
  }
  return item;
}

export function parseFetchItems(tok: Token | undefined): FetchPlan {
  if (!tok) throw bad('FETCH needs data items');
  let names: string[];
  if (tok.t === 'atom') {
    const macro = MACROS[tok.v.toUpperCase()];
    names = macro ?? [tok.v];
  } else if (tok.t === 'list') {
    names = tok.v.map((t) => {
      if (t.t !== 'atom') throw bad('FETCH items are atoms');
      return t.v;
    });
    if (names.length === 0) throw bad('empty FETCH item list');
  } else throw bad('FETCH items expected');
  const items = names.map(parseItem);
  const needsText = items.some(
    (i) => i.k !== 'UID' && i.k !== 'FLAGS' && i.k !== 'INTERNALDATE' && i.k !== 'RFC822.SIZE' && i.k !== 'ENVELOPE' && i.k !== 'MODSEQ',
  );
  const setsSeen = items.some((i) => (i.k === 'SECTION' && !i.peek) || i.k === 'RFC822' || i.k === 'RFC822.TEXT');
  return { items, needsText, setsSeen };
}
