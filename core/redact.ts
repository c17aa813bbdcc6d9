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
