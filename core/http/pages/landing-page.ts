// `/`: the lab's landing page: which services run on which ports, how to set up a mail client with
// the name the student typed to reach us, the users (and, in a classroom lab, their passwords), and
// every route of the site that has a description.
import { escapeHtml } from '../response.js';
import { allowFor, type HttpRoute } from '../routes.js';
import type { LabInfo } from '../site.js';
import { htmlPage } from './html-page.js';
import { endpointLine, mailHost } from './mail-setup.js';
import { mailSettings } from './mail-settings.js';
import { reachedHost, type ReachedHost } from './reached-host.js';

export function landingRoute(lab: LabInfo, routes: () => HttpRoute[], trace: boolean): HttpRoute {
  return {
    path: '/',
    methods: ['GET'],
    description: 'this page',
    handler: (ex) => {
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', landingHtml(lab, reachedHost(lab, ex), routes(), trace));
    },
  };
}

function landingHtml(lab: LabInfo, reached: ReachedHost, routeList: HttpRoute[], trace: boolean): string {
  const all = [...lab.status()].sort((a, b) => a.name.localeCompare(b.name));
  // The name the student reached us by (validated), or the lab hostname when the lab DNS runs.
  const m = mailSettings(lab, mailHost(lab, reached));
  const serviceRows = all
    .map((s) => {
      const ls = s.listeners.map((l) => `${escapeHtml(l.name)} ${l.port}/${l.protocol}${l.tls ? ' (TLS)' : ''}`).join(', ') || '-';
      return `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.state)}</td><td>${ls}</td></tr>`;
    })
    .join('\n');
  const mail = [...m.incoming, ...m.outgoing].map(
    (e) => `<li>${e.protocol === 'smtp' ? 'Outgoing' : 'Incoming'}: server <b>${escapeHtml(m.host)}</b>, ${escapeHtml(endpointLine(e))}</li>`,
  );
  if (mail.length === 0) mail.push('<li>No mail service is running right now.</li>');
  mail.push(`<li>Thunderbird and Outlook find these by themselves; every student's own page with a QR code: <a href="/setup">/setup</a></li>`);
  const hp = escapeHtml(reached.origin);
  const domain = escapeHtml(lab.domain);
  const clear = new Map(lab.users.map((u) => [u.name.toLowerCase(), u.password]));
  const accounts = lab.accounts ? lab.accounts() : lab.users.map((u) => ({ name: u.name.toLowerCase(), fullName: undefined }));
  const users = accounts
    .map((u) => {
      const pw = clear.get(u.name);
      const shown = pw === undefined ? '<i>on your handout</i>' : `<code>${escapeHtml(pw)}</code>`;
      return `<tr><td>${escapeHtml(u.name)}@${domain}</td><td>${escapeHtml(u.name)}</td>${lab.showPasswords ? `<td>${shown}</td>` : ''}</tr>`;
    })
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
<pre>curl -v ${hp}/index.html
curl -X OPTIONS -i ${hp}/echo
curl -d 'hello' ${hp}/echo</pre>`,
  );
}
