// Response heads (RFC 9112 section 4, RFC 9110 section 15): precomputed status lines, a Date field
// formatted once per second (RFC 9110 section 6.6.1), and error bodies that say what was wrong.

export const SERVER_NAME = 'labnet';

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

const statusLines = new Map<number, string>();

/** "HTTP/1.1 200 OK\r\n" (we always answer with our own version, RFC 9110 section 6.2). */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Status'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

const statusTexts = new Map<number, string>();

/** "HTTP/1.1 200 OK", the status line as an event shows it (the reason phrase left out when unknown); one string per status. */
export function statusText(status: number): string {
  let text = statusTexts.get(status);
  if (text === undefined) {
    text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();
    if (statusTexts.size < 1000) statusTexts.set(status, text);
  }
  return text;
}

let dateSecond = -1;
let dateFields = '';

/** "Server: labnet\r\nDate: <IMF-fixdate>\r\n", recomputed at most once a second; `now` when the caller has just read the clock. */
export function commonFields(now = Date.now()): string {
  const sec = (now / 1000) | 0;
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateFields = `Server: ${SERVER_NAME}\r\nDate: ${new Date(sec * 1000).toUTCString()}\r\n`;
  }
  return dateFields;
}

/** The second `commonFields()` belongs to (responses cached with it are valid for that second). */
export function commonFieldsStamp(now = Date.now()): number {
  commonFields(now);
  return dateSecond;
}

/** The Connection field for a response (RFC 9112 section 9.3 and 9.6). */
export function connectionField(keepAlive: boolean, version: number): string {
  if (!keepAlive) return 'Connection: close\r\n';
  return version === 10 ? 'Connection: keep-alive\r\n' : '';
}

/** An HTTP-date (RFC 9110 section 5.6.7) in milliseconds, or NaN. */
export function parseHttpDate(s: string): number {
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : Number.NaN;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}
