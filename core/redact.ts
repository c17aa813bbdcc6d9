// Secrets never reach logs or events. Services know where the secret sits in their own syntax and
// call these helpers before publishing a command event.

export const REDACTED = '<redacted>';

/** Keeps the first `keep` space-separated words of a command line and redacts the rest. */
export function redactAfterWords(line: string, keep: number): string {
  const words = line.split(' ');
  if (words.length <= keep) return line;
  return [...words.slice(0, keep), REDACTED].join(' ');
}

/** Redacts a whole line (a SASL continuation response, for example). */
export function redactLine(): string {
  return REDACTED;
}

/** What a shown word stands for: a command verb, an IMAP tag, a SASL mechanism name. */
export type WordKind = 'verb' | 'tag' | 'mechanism';

const WORD_SHAPES: Record<WordKind, RegExp> = {
  // Verbs are letters only (EHLO, STARTTLS, UIDL, GETQUOTAROOT), in one case or Capitalized.
  verb: /^(?:[A-Z]{1,12}|[a-z]{1,12}|[A-Z][a-z]{1,11})$/,
  // Tags: a001, A0001, 1.
  tag: /^(?:[A-Z0-9.]{1,16}|[a-z0-9.]{1,16})$/,
  // PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2.
  mechanism: /^(?:[A-Z0-9_-]{1,20}|[a-z0-9_-]{1,20})$/,
};

/**
 * A word fit to show from a line the server did not understand (an unknown command, a line that did
 * not parse, a SASL mechanism name): it must have the shape of what it stands for. Anything else
 * (a base64 SASL response sent as a command, a password with digits or mixed case typed out of turn)
 * is shown as <redacted>; control characters never pass. A password of a dozen letters in one case
 * typed alone on a line cannot be told from a verb and is shown.
 */
export function shownWord(word: string, kind: WordKind = 'verb'): string {
  return WORD_SHAPES[kind].test(word) ? word : REDACTED;
}

/**
 * A line the server did not understand, as events and logs may show it: the verb (IMAP: the tag and
 * the verb) through `shownWord`, the rest redacted, since a mistyped `AUHT PLAIN <base64>` or
 * `a LOGNI alice secret` carries credentials after the verb.
 */
export function redactUnknown(line: string, tagged = false): string {
  const kinds: WordKind[] = tagged ? ['tag', 'verb'] : ['verb'];
  const words = line.trim().split(/[ \t]+/, kinds.length + 1);
  const shown: string[] = [];
  for (let i = 0; i < kinds.length && i < words.length; i++) {
    const w = shownWord(words[i], kinds[i]);
    shown.push(w);
    if (w === REDACTED) return shown.join(' ');
  }
  if (words.length > kinds.length) shown.push(REDACTED);
  return shown.join(' ');
}

/**
 * A SASL command (`AUTH PLAIN <response>`, `a AUTHENTICATE PLAIN <response>`): the first `keep`
 * words (verb, tag) as they are, the mechanism only if it has a mechanism's shape, then <redacted>.
 */
export function redactSasl(line: string, keep: number): string {
  const words = line.trim().split(/[ \t]+/, keep + 2);
  const head = words.slice(0, keep);
  if (words.length > keep) head.push(shownWord(words[keep], 'mechanism'));
  if (words.length > keep + 1 && head[head.length - 1] !== REDACTED) head.push(REDACTED);
  return head.join(' ');
}
