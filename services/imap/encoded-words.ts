// RFC 2047 encoded words, decoded only for matching (SEARCH): FETCH returns headers as stored.

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.toLowerCase().replace(/\*.*$/, ''), { fatal: false }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Decodes a header value (a UTF-8 string) with encoded words into plain text. */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (_m, charset: string, enc: string, text: string) => {
      let bytes: Buffer;
      if (enc.toUpperCase() === 'B') bytes = Buffer.from(text, 'base64');
      else
        bytes = Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        );
      return decodeCharset(bytes, charset);
    });
}

export { decodeCharset };
