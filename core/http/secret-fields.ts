// Header fields whose values never leave the server in an echo (/echo, TRACE): credentials and
// session cookies are shown as <redacted> (the cross-site tracing lesson, RFC 9110 section 9.3.8).
const SECRET_FIELDS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** The value to show for a header field: the value itself, or `<redacted>` for credentials and cookies. */
export function shownFieldValue(name: string, value: string): string {
  return SECRET_FIELDS.has(name.toLowerCase()) ? '<redacted>' : value;
}
