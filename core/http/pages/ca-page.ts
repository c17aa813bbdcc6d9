// `/ca`: how to trust the lab CA in Firefox, Chrome, Windows, macOS and Thunderbird, with commands for
// the host the visitor reached (validated, reached-host.ts) and the port HTTPS really listens on
// (`--port-offset` included). `/ca.crt` itself is the shared route of core/tls/ca-routes.ts.
import { escapeHtml } from '../response.js';
import type { HttpRoute } from '../routes.js';
import type { LabInfo } from '../site.js';
import { mailHost } from './mail-setup.js';
import { originOf, reachedHost, urlHostOf } from './reached-host.js';

/** The port of the running HTTPS listener, if any. */
export function httpsPort(lab: Pick<LabInfo, 'status'>): number | undefined {
  const http = lab.status().find((s) => s.name === 'http' && s.state === 'running');
  return http?.listeners.find((l) => l.name === 'https' && l.protocol === 'tcp')?.port;
}

export function caPageRoute(lab: LabInfo): HttpRoute {
  return {
    path: '/ca',
    methods: ['GET'],
    description: 'how to trust the lab CA in Firefox, Chrome, Windows, macOS and Thunderbird',
    handler: (ex) => {
      if (lab.caPem?.() === undefined) {
        ex.sendError(404, 'this lab has no CA loaded (TLS is off)');
        return;
      }
      const reached = reachedHost(lab, ex);
      const port = reached.scheme === 'https' ? reached.port : httpsPort(lab);
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n', caPage(reached.name, port, mailHost(lab, reached)));
    },
  };
}

function caPage(host: string, port: number | undefined, mailServer: string): string {
  const origin = port === undefined ? undefined : escapeHtml(originOf('https', host, port));
  const connect = port === undefined ? undefined : escapeHtml(`${urlHostOf(host)}:${port}`);
  const commands = [
    origin ? `curl --cacert labnet-ca.crt ${origin}/` : '# HTTPS is off in this lab (services.http.https: false)',
    connect ? `openssl s_client -connect ${connect} -CAfile labnet-ca.crt` : '',
    "labnet ca export &gt; labnet-ca.crt     # on the instructor's machine",
  ].filter((l) => l !== '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trust the lab CA</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}pre{background:#f4f4f4;padding:.6em}li{margin:.3em 0}</style>
</head><body><h1>Trust the lab certificate authority</h1>
<p>labnet's HTTPS and mail-over-TLS services use a certificate signed by this lab's own certificate authority
(CA). Your computer trusts only the CAs it knows, so it warns about this one until you install the lab CA.
Install it <b>only on lab machines</b>: whoever holds a CA's key can make certificates your browser believes.</p>
<p><a href="/ca.crt"><b>Download the lab CA certificate (labnet-ca.crt)</b></a></p>
<h2>Firefox</h2>
<p>Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import…, choose
<code>labnet-ca.crt</code>, tick "Trust this CA to identify websites".</p>
<h2>Chrome / Chromium / Edge</h2>
<p>On Windows and macOS Chrome uses the system store (below). On Linux: Settings → Privacy and security →
Security → Manage certificates → Authorities → Import, tick "Trust this certificate for identifying websites".</p>
<h2>Windows</h2>
<p>Double-click <code>labnet-ca.crt</code> → Install Certificate… → Current User → "Place all certificates in
the following store" → Trusted Root Certification Authorities → Finish. Or, as administrator:</p>
<pre>certutil -addstore -f Root labnet-ca.crt</pre>
<h2>macOS, iPhone, iPad</h2>
<p>Double-click <code>labnet-ca.crt</code> (it opens Keychain Access, login keychain), double-click
"labnet lab CA", open Trust and set "When using this certificate" to Always Trust. Or:</p>
<pre>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain labnet-ca.crt</pre>
<p>The Apple profile on your <a href="/setup">setup page</a> installs the CA together with your mail account.</p>
<h2>Thunderbird</h2>
<p>Settings → Privacy &amp; Security → Certificates → Manage Certificates → Authorities → Import…, tick
"Trust this CA to identify websites" (it also covers mail servers). Then use server <b>${escapeHtml(mailServer)}</b> with SSL/TLS or
STARTTLS.</p>
<h2>Command line</h2>
<pre>${commands.join('\n')}</pre>
</body></html>
`;
}
