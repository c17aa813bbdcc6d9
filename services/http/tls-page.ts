// The /tls page: the visitor's own TLS handshake as a ladder diagram (client on the left, labnet on
// the right), each message with its size, time and fields, and one or two plain sentences in the
// course's words; the phases (the client sends what it supports; the server chooses and proves its
// identity; both derive the session keys; encrypted application data follows); the key-log lines in
// SSLKEYLOGFILE format for Wireshark; and on the RSA demo listener the decrypted pre-master secret.
import type { DecodedHandshake, LadderMessage } from '../../core/tls/handshake-decoder.js';
import type { HandshakeCapture } from '../../core/tls/handshake-tap.js';
import { escapeHtml as e } from '../../core/http/response.js';

const PHASES = [
  {
    title: '1. The client sends what it supports',
    text: 'Your browser opens the conversation with the list of versions, cipher suites and key-exchange methods it can use, and a random number.',
  },
  {
    title: '2. The server chooses and proves its identity',
    text: 'labnet picks one option from each list, sends its certificate (its public key, signed by the lab CA) and proves it owns the matching private key.',
  },
  {
    title: '3. Both derive the session keys',
    text: 'From the key exchange and the two random numbers both sides compute the same symmetric session keys; the Finished messages confirm that nobody tampered with the handshake.',
  },
  {
    title: '4. Encrypted application data follows',
    text: 'The HTTP request and response travel encrypted with the session keys (symmetric encryption, fast); the asymmetric keys were only needed to agree on them.',
  },
];

function phaseOf(m: LadderMessage, version: string | undefined): number {
  switch (m.name) {
    case 'ClientHello':
      return 0;
    case 'ServerHello':
    case 'HelloRetryRequest':
    case 'EncryptedExtensions':
    case 'Certificate':
    case 'CertificateVerify':
    case 'ServerKeyExchange':
    case 'ServerHelloDone':
    case 'CertificateRequest':
      return 1;
    case 'ClientKeyExchange (ECDHE)':
    case 'ClientKeyExchange (RSA)':
    case 'Finished':
      return 2;
    case 'ChangeCipherSpec':
      // TLS 1.3's dummy ChangeCipherSpec sits next to the server's first flight.
      return version === 'TLS 1.3' && m.from === 'server' ? 1 : 2;
    default:
      return 3;
  }
}

function ms(t: number): string {
  return `${t.toFixed(2)} ms`;
}

function messageHtml(m: LadderMessage): string {
  const dir = m.from === 'client' ? 'c2s' : 's2c';
  const lock = m.encrypted
    ? `<span class="badge enc">${m.decrypted ? 'encrypted · opened with the key log' : 'encrypted'}</span>`
    : '<span class="badge plain">plaintext</span>';
  const rows = m.fields.map((f) => `<tr><th>${e(f.name)}</th><td>${e(f.value)}</td></tr>`).join('');
  return `<div class="msg ${dir}">
<div class="arrow"><span class="label"><b>${e(m.name)}</b> · ${m.bytes} ${m.bytes === 1 ? 'byte' : 'bytes'} · ${ms(m.t)} ${lock}</span></div>
<p class="explain">${e(m.explain)}</p>
${m.error ? `<p class="error">${e(m.error)}</p>` : ''}
${rows ? `<details><summary>fields (${m.fields.length})</summary><table>${rows}</table></details>` : ''}
</div>`;
}

export interface TlsPageInput {
  capture: HandshakeCapture | undefined;
  decoded: DecodedHandshake | undefined;
  listener: { name: string; port: number; rsaDemo: boolean };
  peer: { address: string; port: number };
  /** The other listener's URL to link to, if running (demo <-> normal). */
  otherUrl?: string;
}

export function renderTlsPage(p: TlsPageInput): string {
  const d = p.decoded;
  const c = p.capture;
  const parts: string[] = [];
  if (p.listener.rsaDemo) {
    parts.push(`<div class="warn"><b>DEMO LISTENER — deliberately weak.</b> This port only speaks TLS 1.2 with RSA key exchange
(no forward secrecy), so the course's "client encrypts a random secret with the server's public key" flow can be shown.
Never configure a real server like this.${p.otherUrl ? ` The normal HTTPS service is <a href="${e(p.otherUrl)}">here</a>.` : ''}</div>`);
  }
  if (!c || !d) {
    parts.push(`<p>The handshake of this connection is no longer in labnet's memory (it keeps the most recent ones, or the demo is switched off
with <code>services.https.handshakeDemo: false</code>, or more than
<code>handshakeDemoMaxPerSecond</code> connections arrived in that second). Reload the page in a new private window to make a fresh connection.</p>`);
    return page(parts.join('\n'));
  }
  const total = c.secureAt !== undefined ? ms(c.secureAt) : '-';
  parts.push(`<table class="summary">
<tr><th>you (client)</th><td>${e(p.peer.address)} port ${p.peer.port}</td></tr>
<tr><th>labnet (server)</th><td>listener ${e(p.listener.name)}, port ${p.listener.port}</td></tr>
<tr><th>version</th><td>${e(d.version ?? '?')}</td></tr>
<tr><th>cipher suite</th><td>${e(d.suite ?? '?')}</td></tr>
<tr><th>key exchange group</th><td>${e(d.group ?? (d.rsa ? 'none: RSA key exchange' : '?'))}</td></tr>
<tr><th>application protocol (ALPN)</th><td>${e(d.alpn ?? c.alpn ?? '(none asked)')}</td></tr>
<tr><th>server name (SNI)</th><td>${e(d.serverName ?? c.servername ?? '(none sent)')}</td></tr>
<tr><th>handshake time</th><td>${total} from the first byte to "secure"</td></tr>
<tr><th>bytes captured</th><td>client → server ${d.bytes.client}, server → client ${d.bytes.server}</td></tr>
</table>`);
  if (d.resumed) {
    parts.push(`<p class="note">This connection <b>resumed</b> an earlier TLS session, so the server sent no certificate: both sides reused
keys agreed before. Open the page in a new private window to see a full handshake.</p>`);
  }
  parts.push('<div class="ladder"><div class="ends"><div>Client: your browser</div><div>Server: labnet</div></div>');
  let phase = -1;
  for (const m of d.messages) {
    const ph = phaseOf(m, d.version);
    if (ph > phase) {
      phase = ph;
      const P = PHASES[ph];
      parts.push(`<div class="phase"><h3>${e(P.title)}</h3><p>${e(P.text)}</p></div>`);
    }
    parts.push(messageHtml(m));
  }
  parts.push('</div>');
  if (d.notes.length) parts.push(`<ul class="notes">${d.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>`);
  if (d.rsa) parts.push(rsaSection(d));
  const keylog = d.keylog.join('\n');
  parts.push(`<h2>Decrypt your own capture in Wireshark</h2>
<p>These are this connection's secrets in the SSLKEYLOGFILE format. Save them to a file, then in Wireshark choose
Edit → Preferences → Protocols → TLS → (Pre)-Master-Secret log filename. Only this connection's traffic can be opened with them.</p>
<pre id="keylog">${e(keylog)}</pre>
<p><a download="labnet-keylog.txt" href="data:text/plain;charset=utf-8,${encodeURIComponent(`${keylog}\n`)}">Download the key log (labnet-keylog.txt)</a></p>`);
  return page(parts.join('\n'));
}

function rsaSection(d: DecodedHandshake): string {
  const r = d.rsa!;
  if (r.error) return `<h2>The pre-master secret</h2><p class="error">${e(r.error)}</p>`;
  return `<h2>The pre-master secret, decrypted with the server's private key</h2>
<p>Your browser chose these 48 bytes at random and sent them encrypted with the public key in labnet's certificate
(RSAES-PKCS1-v1_5). labnet decrypted them with its private key:</p>
<pre>${e(r.preMaster.replace(/(.{32})/g, '$1\n').trim())}</pre>
<p>The first two bytes are the version the client offered (${e(r.clientVersion)}). Both sides turned this secret and the two
random numbers into the master secret${r.masterSecret ? `:</p><pre>${e(r.masterSecret)}</pre><p>${r.matchesKeyLog === true ? 'It is the same master secret OpenSSL logged for this connection (see the key log below): the session keys follow from it.' : r.matchesKeyLog === false ? 'It does not match the logged master secret.' : ''}` : '.'}</p>
<h3>Why ECDHE and TLS 1.3 removed this flow</h3>
<p><b>No forward secrecy.</b> Everything protecting this session follows from one value encrypted with the server's long-term key.
Whoever records the traffic today and obtains the private key later (a stolen backup, a seized server) can decrypt every
recorded session, exactly as this page just did. With ECDHE both sides make fresh key pairs for each connection and throw
them away, so a stolen certificate key cannot open old captures.</p>
<p><b>Padding-oracle attacks.</b> RSA PKCS#1 v1.5 decryption leaks through error messages and timing (Bleichenbacher 1998,
ROBOT 2017, Marvin 2023): attackers could decrypt a pre-master secret by asking the server millions of questions. Node.js
itself now refuses this decryption (CVE-2023-46809); this page uses node-forge for it.</p>
<p>TLS 1.3 (RFC 8446) therefore keeps only (EC)DHE key exchange; the certificate's key is used just to <i>sign</i> the handshake
(CertificateVerify), never to encrypt a secret.</p>`;
}

function page(body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your TLS handshake</title>
<style>
body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
.summary th{background:#f4f4f4}
pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;word-break:break-all}
.warn{background:#fff0d0;border:2px solid #d08000;padding:.6em 1em;margin:1em 0}
.note{background:#eef6ff;padding:.5em 1em}
.error{color:#a00}
.ladder{position:relative;margin:1.5em 0;padding:0 0 1em;border-left:4px solid #345;border-right:4px solid #345}
.ends{display:flex;justify-content:space-between;font-weight:bold;background:#345;color:#fff;padding:.3em .6em}
.phase{margin:1em 1em 0;padding:.2em .6em;background:#f0f4f0;border-left:4px solid #5a5}
.phase h3{margin:.2em 0}.phase p{margin:.2em 0;font-size:.9em}
.msg{margin:.9em 1em 0}
.arrow{position:relative;height:2px;background:#345;margin:1.6em 0 .3em}
.c2s .arrow::after,.s2c .arrow::after{content:"";position:absolute;top:-6px;border:7px solid transparent}
.c2s .arrow::after{right:-2px;border-left:12px solid #345}
.s2c .arrow{background:#735}.s2c .arrow::after{left:-2px;border-right:12px solid #735}
.label{position:absolute;top:-1.45em;white-space:nowrap;font-size:.95em}
.c2s .label{left:0}.s2c .label{right:0}
.badge{font-size:.75em;padding:0 .4em;border-radius:.5em;margin-left:.3em}
.enc{background:#dfd;border:1px solid #8b8}.plain{background:#eee;border:1px solid #bbb}
.explain{margin:.2em 0;font-size:.92em}
.s2c .explain,.s2c details{margin-left:20%}.c2s .explain,.c2s details{margin-right:20%}
details table{font-size:.85em;width:100%}details th{width:16em}
</style>
</head><body><h1>Your TLS handshake</h1>
<p>This is the handshake your browser made with labnet to load this page, captured as it happened and decoded now.
Time runs down the page; arrows point from the side that sent the message.</p>
${body}
</body></html>
`;
}
