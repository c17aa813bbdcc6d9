// The MIME library (mailparser, and libmime for encoded words), loaded on first use: a lab that never
// reads mail back (`labnet start` in a classroom) does not pay for it at start-up, and the CLI bundle
// leaves it out (core/postbuild.ts marks it external). Every MailApi entry point awaits `loadMime()`;
// the synchronous helpers then use `mime()`.
import type * as Mailparser from 'mailparser';

export interface MimeLib {
  simpleParser: typeof Mailparser.simpleParser;
  parseAddressHeader: typeof Mailparser.parseAddressHeader;
  decodeWords: (s: string) => string;
}

let lib: MimeLib | undefined;
let loading: Promise<MimeLib> | undefined;

export function loadMime(): Promise<MimeLib> {
  if (lib) return Promise.resolve(lib);
  loading ??= Promise.all([import('mailparser'), import('libmime')]).then(([mp, lm]) => {
    const libmime = lm.default;
    lib = { simpleParser: mp.simpleParser, parseAddressHeader: mp.parseAddressHeader, decodeWords: (s) => libmime.decodeWords(s) };
    return lib;
  });
  return loading;
}

/** The loaded library; `loadMime()` must have resolved before. */
export function mime(): MimeLib {
  if (!lib) throw new Error('the MIME library is used before loadMime() resolved');
  return lib;
}
