// `/`: the lab's landing page: which services run on which ports, how to set up a mail client with
// the name the student typed to reach us, the users (and, in a classroom lab, their passwords), and
// every route of the site that has a description.
import { escapeHtml } from '../response.js';
import { allowFor, type HttpRoute } from '../routes.js';
import type { LabInfo } from '../site.js';
import { htmlPage } from './html-page.js';

export function landingRoute(lab: LabInfo, routes: () => HttpRoute[], trace: boolean): HttpRoute {
  return {
    path: '/',
    methods: ['GET'],
    description: 'this page',
    handler: (ex) => {
      const hostHeader = ex.req.host ?? '';
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', landingHtml(lab, hostHeader, routes(), trace));
    },
  };
}

function landingHtml(lab: LabInfo, hostHeader: string, routeList: HttpRoute[], trace: boolean): string {
  const all = [...lab.status()].sort((a, b) => a.name.localeCompare(b.name));
  // The name the student typed to reach us is the one their mail client should use.
  const host = hostHeader === '' ? lab.hostname : hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
  const port = (service: string, ...listeners: string[]): number | undefined => {
    const s = all.find((x) => x.name === service && x.state === 'running');
    if (!s) return undefined;
    for (const l of listeners) {
      const found = s.listeners.find((x) => x.name === l);
      if (found) return found.port;
    }
    return undefined;
  };
  const serviceRows = all
    .map((s) => {
      const ls = s.listeners.map((l) => `${escapeHtml(l.name)} ${l.port}/${l.protocol}${l.tls ? ' (TLS)' : ''}`).join(', ') || '-';
      return `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.state)}</td><td>${ls}</td></tr>`;
    })
    .join('\n');
  const h = escapeHtml(host);
  const hp = escapeHtml(hostHeader === '' ? lab.hostname : hostHeader);
  const mail: string[] = [];
  const imap = port('imap', 'imap');
  const imaps = port('imap', 'imaps');
  const pop3 = port('pop3', 'pop3');
  const pop3s = port('pop3', 'pop3s');
  const submission = port('smtp', 'submission');
  const smtp = port('smtp', 'smtp');
  const smtps = port('smtp', 'smtps');
  if (imap !== undefined || imaps !== undefined)
    mail.push(`<li>Incoming (IMAP): server <b>${h}</b>, port ${imap ?? '-'}${imaps !== undefined ? ` or ${imaps} (TLS)` : ''}</li>`);
  if (pop3 !== undefined || pop3s !== undefined)
    mail.push(`<li>Incoming (POP3): server <b>${h}</b>, port ${pop3 ?? '-'}${pop3s !== undefined ? ` or ${pop3s} (TLS)` : ''}</li>`);
  if (submission !== undefined || smtp !== undefined || smtps !== undefined) {
    mail.push(
      `<li>Outgoing (SMTP): server <b>${h}</b>, port ${submission ?? smtp ?? '-'}${submission !== undefined ? ' (submission: log in with your login and password)' : ''}${smtps !== undefined ? ` or ${smtps} (TLS)` : ''}</li>`,
    );
  }
  if (mail.length === 0) mail.push('<li>No mail service is running right now.</li>');
  const domain = escapeHtml(lab.domain);
  const users = lab.users
    .map(
      (u) =>
        `<tr><td>${escapeHtml(u.name)}@${domain}</td><td>${escapeHtml(u.name)}</td>${lab.showPasswords ? `<td><code>${escapeHtml(u.password)}</code></td>` : ''}</tr>`,
    )
    .join('\n');
  const routes = routeList
    .filter((r) => r.description)
    .map((r) => `<li><a href="${escapeHtml(r.path)}">${escapeHtml(r.path)}</a> ${escapeHtml(r.description!)} (${escapeHtml(allowFor(r.methods, trace))})</li>`)
    .join('\n');
  return htmlPage(
    `labnet at ${escapeHtml(lab.hostname)}`,
    `<h2>Services</h2>
<table><tr><th>service</th><th>state</th><th>listeners</th></tr>
${serviceRows}
</table>
<h2>Setting up a mail client</h2>
<ul>${mail.join('\n')}</ul>
<p>Every user's address has the form <b>name@${domain}</b>; the login is <b>name</b> (or the whole address).</p>
<table><tr><th>address</th><th>login</th>${lab.showPasswords ? '<th>password</th>' : ''}</tr>
${users}
</table>
<h2>Things to try on this web server</h2>
<ul>
${routes}
<li><a href="/index.html">/index.html</a> and every other file in the document root</li>
</ul>
<pre>curl -v http://${hp}/index.html
curl -X OPTIONS -i http://${hp}/echo
curl -d 'hello' http://${hp}/echo</pre>`,
  );
}
