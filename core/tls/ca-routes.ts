// `/ca.crt` (the lab CA certificate, PEM) and `/ca` (how to trust it in Firefox, Chrome, Windows,
// macOS and Thunderbird), published on every HTTP site through the shared route registry.
import type { HttpRouteRegistry } from '../http/routes.js';
import { escapeHtml } from '../http/response.js';

export function addCaRoutes(routes: HttpRouteRegistry, caPem: () => string, hostname: string): void {
  routes.add({
    path: '/ca.crt',
    methods: ['GET'],
    description: 'download the lab CA certificate (install it once, then HTTPS and mail over TLS show no warning)',
    handler: (ex) => {
      ex.send(
        200,
        'Content-Type: application/x-x509-ca-cert\r\nContent-Disposition: attachment; filename="labnet-ca.crt"\r\nCache-Control: no-cache\r\n',
        caPem(),
      );
    },
  });
  routes.add({
    path: '/ca',
    methods: ['GET'],
    description: 'how to trust the lab CA in Firefox, Chrome, Windows, macOS and Thunderbird',
    handler: (ex) => {
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n', caPage(hostname));
    },
  });
}

function caPage(hostname: string): string {
  const h = escapeHtml(hostname);
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
<h2>macOS</h2>
<p>Double-click <code>labnet-ca.crt</code> (it opens Keychain Access, login keychain), double-click
"labnet lab CA", open Trust and set "When using this certificate" to Always Trust. Or:</p>
<pre>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain labnet-ca.crt</pre>
<h2>Thunderbird</h2>
<p>Settings → Privacy &amp; Security → Certificates → Manage Certificates → Authorities → Import…, tick
"Trust this CA to identify websites" (it also covers mail servers). Then use server <b>${h}</b> with SSL/TLS or
STARTTLS.</p>
<h2>Command line</h2>
<pre>curl --cacert labnet-ca.crt https://${h}/
openssl s_client -connect ${h}:443 -CAfile labnet-ca.crt
labnet ca export &gt; labnet-ca.crt     # on the instructor's machine</pre>
</body></html>
`;
}
