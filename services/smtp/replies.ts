// The one reply path's code table: each SMTP reply code gets its default RFC 3463 enhanced status
// code (RFC 2034: every 2xx, 4xx and 5xx reply carries one, except the greeting and HELO/EHLO).
// Callers name a more specific enhanced code where it tells the client more (5.1.1, 5.7.1...).
const DEFAULT_ENHANCED: Record<number, string> = {
  211: '2.0.0',
  214: '2.0.0',
  221: '2.0.0',
  235: '2.7.0', // RFC 4954 section 6
  250: '2.0.0',
  251: '2.1.5',
  252: '2.0.0',
  421: '4.3.0',
  450: '4.2.0',
  451: '4.3.0',
  452: '4.5.3',
  454: '4.7.0',
  500: '5.5.2',
  501: '5.5.4',
  502: '5.5.1',
  503: '5.5.1',
  504: '5.5.4',
  530: '5.7.0',
  534: '5.7.9',
  535: '5.7.8',
  550: '5.1.1',
  552: '5.3.4',
  553: '5.1.3',
  554: '5.7.1',
  555: '5.5.4',
};

/** The enhanced code to use for `code` when the caller gave none; undefined for 1xx/3xx. */
export function defaultEnhanced(code: number): string | undefined {
  if (code < 200 || (code >= 300 && code < 400)) return undefined;
  return DEFAULT_ENHANCED[code] ?? `${Math.floor(code / 100)}.0.0`;
}

/** Formats reply lines: `250-a`, `250-b`, `250 c`, each with the enhanced code when there is one. */
export function formatReply(code: number, lines: readonly string[], enhanced: string | null | undefined): string[] {
  const esc = enhanced === null ? undefined : (enhanced ?? defaultEnhanced(code));
  const texts = lines.length === 0 ? [''] : lines;
  return texts.map((t, i) => {
    const sep = i === texts.length - 1 ? ' ' : '-';
    const body = esc ? `${esc} ${t}` : t;
    return `${code}${sep}${body}`.trimEnd();
  });
}
