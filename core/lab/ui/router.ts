// Views are tabs addressed by the URL fragment: #/overview, #/sessions?service=smtp, #/session/ID,
// #/session/ID/tls, #/dhcp, #/http, #/packets, #/projector, #/dns/ADDRESS, #/mail?folder=&uid=&show= (inbox.ts).

export interface Route {
  view: string;
  /** Path parts after the view name. */
  parts: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] ?? 'overview', parts: parts.slice(1), params };
}

let onChange: () => void = () => {};

export function onRoute(fn: () => void): void {
  onChange = fn;
  window.addEventListener('hashchange', () => onChange());
}

export function navigate(hash: string, replace = false): void {
  if (location.hash === hash) return;
  if (replace) {
    history.replaceState(null, '', hash);
    onChange();
  } else location.hash = hash;
}
