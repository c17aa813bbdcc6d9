// The /lab page: a small HTML shell with the login form (or who is logged in and a log-out button)
// rendered here, so logging in works before any script runs; everything else is drawn by the bundled
// script (core/lab/ui/) from the live stream. No inline script or style: the Content-Security-Policy
// allows only this origin's /lab/app.js and /lab/app.css.
import { escapeHtml } from '../http/response.js';
import type { Viewer } from './wire.js';

export const LAB_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Fields every /lab response carries. */
export const LAB_SECURITY_FIELDS = `Content-Security-Policy: ${LAB_CSP}\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\nX-Frame-Options: DENY\r\n`;

export interface PageOptions {
  viewer: Viewer;
  hostname: string;
  /** Version tag of the bundled assets (cache busting). */
  assets: string;
  error?: string;
  /** The user name to put back in the form after a failed attempt. */
  user?: string;
}

export function labPage(o: PageOptions): string {
  const v = o.viewer;
  const e = escapeHtml;
  const account =
    v.role === 'anonymous'
      ? `<form class="login" method="post" action="/lab/login" id="login">
<p class="login-why">Log in with your lab account to follow your own sessions live.</p>
<label>User name <input name="user" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="320" value="${e(o.user ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Log in</button>
${o.error ? `<p class="login-error" role="alert">${e(o.error)}</p>` : ''}
</form>`
      : `<form class="account" method="post" action="/lab/logout" id="account">
<span class="who"><b>${e(v.user ?? '')}</b> <span class="role role-${e(v.role)}">${v.role === 'instructor' ? 'instructor' : 'student'}</span></span>
<button type="submit">Log out</button>
</form>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Live lab · ${e(o.hostname)}</title>
<link rel="stylesheet" href="/lab/app.css?v=${e(o.assets)}">
<script type="module" src="/lab/app.js?v=${e(o.assets)}"></script>
</head>
<body data-role="${e(v.role)}">
<header class="top">
<a class="brand" href="/lab#/overview"><span class="logo" aria-hidden="true">◆</span> labnet <span class="brand-sub">live lab</span></a>
<nav class="tabs" id="tabs" aria-label="Views"></nav>
<div class="top-right">
<span class="conn" id="conn" title="live stream"><span class="dot"></span><span class="conn-text">connecting</span></span>
<button type="button" class="tool" id="bigtext" aria-pressed="false" title="Large text for the projector">A+</button>
${account}
</div>
</header>
<main id="app" tabindex="-1">
<noscript><p class="noscript">The live lab needs JavaScript (served by this lab itself: nothing comes from the internet).</p></noscript>
</main>
</body>
</html>
`;
}

/**
 * A request of the lab page itself: the page and its login, assets, event stream and API calls
 * (anything under /lab), and the icon the browser fetches for the page by itself (/favicon.ico, often
 * on the page's keep-alive connection after /lab). `requestLine` is "METHOD path HTTP/x". The sessions
 * list and the packet view both hide the connections that carry these unless asked.
 */
export function isLabPageRequest(requestLine: string): boolean {
  return LAB_PAGE_REQUEST.test(requestLine);
}

const LAB_PAGE_REQUEST = /^[A-Z]+ \/(?:lab(?:[/? ]|$)|favicon\.ico(?:[? ]|$))/;
