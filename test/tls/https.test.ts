// HTTPS against the real labnet process with real clients: curl --cacert (TLS 1.2 and 1.3, no -k),
// openssl s_client per version, sslscan (no weak protocol or suite), the ALPN guard (ALPACA), /tls
// decoding live handshakes from curl and OpenSSL, the RSA key-exchange demo listener, /ca.crt and
// `labnet ca export`.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { runCli, startLabProcess, type LabProcess } from '../support/lab-process.js';
import { runTool } from './run-tool.js';

let lab: LabProcess;
let caFile: string;
let https: number;
let demo: number;
let http: number;

test.before(async () => {
  lab = await startLabProcess({
    only: ['http'],
    // sslscan in a concurrent test makes hundreds of handshakes a second: lift the demo's flood limit
    // so the /tls tests always find their own handshake recorded.
    config: { services: { http: { rsaDemo: true, handshakeDemoMaxPerSecond: 100000, keepAliveTimeoutMs: 2000 } } },
    timeoutMs: 30_000,
  });
  https = lab.port('http', 'https');
  demo = lab.port('http', 'https-rsa-demo');
  http = lab.port('http', 'http');
  caFile = join(lab.dataDir, 'exported-ca.pem');
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

test.serial('labnet ca export prints the lab CA, the same one /ca.crt serves over HTTP', async (t) => {
  const r = await runCli(['ca', 'export', '--config', lab.configPath, '--data-dir', lab.dataDir]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^-----BEGIN CERTIFICATE-----\n[^]+-----END CERTIFICATE-----\n$/);
  t.is(r.stdout, readFileSync(join(lab.dataDir, 'tls', 'ca.crt'), 'utf8'));
  writeFileSync(caFile, r.stdout);
  const dl = await runTool('curl', ['-sS', `http://127.0.0.1:${http}/ca.crt`]);
  t.is(dl.stdout, r.stdout);
  const landing = await runTool('curl', ['-sS', `http://127.0.0.1:${http}/`]);
  t.regex(landing.stdout, /href="\/ca\.crt"/);
  const howto = await runTool('curl', ['-sS', `http://127.0.0.1:${http}/ca`]);
  for (const word of ['Firefox', 'Chrome', 'Windows', 'macOS', 'Thunderbird']) t.true(howto.stdout.includes(word), word);
});

for (const [flag, version] of [
  ['--tlsv1.3', 'TLSv1.3'],
  ['--tls-max 1.2', 'TLSv1.2'],
] as const) {
  test.serial(`curl --cacert verifies the certificate over ${version} (no -k)`, async (t) => {
    for (const host of ['localhost', '127.0.0.1']) {
      const r = await runTool('curl', [
        '-sS',
        '-v',
        '--cacert',
        caFile,
        ...flag.split(' '),
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{ssl_verify_result}',
        `https://${host}:${https}/`,
      ]);
      t.is(r.stdout, '200 0', r.stderr);
      t.true(r.stderr.includes(`SSL connection using ${version}`), r.stderr);
      t.regex(r.stderr, /ALPN: server accepted http\/1\.1/);
    }
  });
}

test.serial('openssl s_client: TLS 1.2 and 1.3 verify; TLS 1.0 and 1.1 are refused', async (t) => {
  for (const v of ['-tls1_2', '-tls1_3']) {
    const r = await runTool(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${https}`, v, '-CAfile', caFile, '-verify_return_error', '-servername', 'localhost'],
      { input: '' },
    );
    t.regex(r.stdout, /Verify return code: 0 \(ok\)/, v);
    t.regex(r.stdout, new RegExp(`New, ${v === '-tls1_2' ? 'TLSv1\\.2' : 'TLSv1\\.3'}, Cipher is (TLS_AES|TLS_CHACHA|ECDHE-RSA-(AES|CHACHA))`), v);
  }
  for (const v of ['-tls1', '-tls1_1']) {
    const r = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, v, '-CAfile', caFile], { input: '' });
    t.regex(r.stdout, /Cipher is \(NONE\)/, v);
    t.regex(r.stdout + r.stderr, /no protocols available|alert protocol version|unsupported protocol|wrong version|handshake failure/i, v);
  }
  for (const cipher of ['DES-CBC3-SHA', 'RC4-SHA', 'ECDHE-RSA-AES128-SHA', 'AES128-SHA', 'AES128-GCM-SHA256']) {
    const r = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-tls1_2', '-cipher', `${cipher}:@SECLEVEL=0`], { input: '' });
    t.notRegex(r.stdout, /Cipher is (?!\(NONE\))/, cipher);
  }
});

test.serial('ALPN guard (ALPACA): a client asking for another protocol gets no_application_protocol', async (t) => {
  const bad = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-alpn', 'smtp', '-CAfile', caFile], { input: '' });
  t.regex(bad.stdout + bad.stderr, /no application protocol/);
  const good = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-alpn', 'h2,http/1.1', '-CAfile', caFile], { input: '' });
  t.regex(good.stdout, /ALPN protocol: http\/1\.1/);
  const none = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-CAfile', caFile], { input: '' });
  t.regex(none.stdout, /No ALPN negotiated/);
  t.regex(none.stdout, /Verify return code: 0 \(ok\)/);
});

test.serial('sslscan finds no weak protocol or cipher suite', async (t) => {
  const r = await runTool('sslscan', ['--no-colour', `127.0.0.1:${https}`], { timeoutMs: 90_000 });
  t.is(r.code, 0, r.stderr);
  for (const p of ['SSLv2', 'SSLv3', 'TLSv1.0', 'TLSv1.1']) t.regex(r.stdout, new RegExp(`${p.replace('.', '\\.')}\\s+disabled`), p);
  t.regex(r.stdout, /TLSv1\.2\s+enabled/);
  t.regex(r.stdout, /TLSv1\.3\s+enabled/);
  const accepted = r.stdout.split('\n').filter((l) => /^(Preferred|Accepted)\s/.test(l));
  t.true(accepted.length >= 4, r.stdout);
  for (const line of accepted) {
    t.notRegex(line, /RC4|DES|NULL|EXP|MD5|CBC|SHA(?!256|384)\b|\bAES128-SHA|\bAES256-SHA/, line);
    t.regex(line, /GCM|CHACHA20/, line);
  }
  t.notRegex(r.stdout, /Heartbleed.*vulnerable/i);
});

test.serial('/tls shows the visitor their own TLS 1.3 handshake from curl, with the key log', async (t) => {
  const r = await runTool('curl', ['-sS', '--cacert', caFile, '--tlsv1.3', `https://localhost:${https}/tls`]);
  const html = r.stdout;
  t.regex(html, /Your TLS handshake/);
  t.regex(html, /<th>version<\/th><td>TLS 1\.3<\/td>/);
  t.regex(html, /<th>server name \(SNI\)<\/th><td>localhost<\/td>/);
  for (const m of ['ClientHello', 'ServerHello', 'EncryptedExtensions', 'Certificate', 'CertificateVerify', 'Finished'])
    t.true(html.includes(`<b>${m}</b>`), m);
  t.regex(html, /The client sends what it supports/);
  t.regex(html, /The server chooses and proves its identity/);
  t.regex(html, /Both derive the session keys/);
  t.regex(html, /Encrypted application data follows/);
  t.regex(html, /encrypted · opened with the key log/);
  t.regex(html, /CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{64}/);
  t.regex(html, /SERVER_TRAFFIC_SECRET_0 [0-9a-f]{64}/);
});

test.serial('/tls decodes a live TLS 1.2 handshake from openssl s_client', async (t) => {
  const req = 'GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
  const r = await runTool('openssl', ['s_client', '-connect', `127.0.0.1:${https}`, '-tls1_2', '-CAfile', caFile, '-quiet', '-no_ign_eof'], {
    input: req,
    keepStdinOpenMs: 3000,
  });
  const html = r.stdout;
  t.regex(html, /HTTP\/1\.1 200/);
  t.regex(html, /<th>version<\/th><td>TLS 1\.2<\/td>/);
  for (const m of [
    'ClientHello',
    'ServerHello',
    'Certificate',
    'ServerKeyExchange',
    'ServerHelloDone',
    'ClientKeyExchange (ECDHE)',
    'ChangeCipherSpec',
    'Finished',
  ])
    t.true(html.includes(`<b>${m}</b>`), m);
  t.regex(html, /CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}/);
});

test.serial('the RSA key-exchange demo listener: TLS 1.2 only, shows the decrypted pre-master secret', async (t) => {
  const r = await runTool('curl', ['-sS', '--cacert', caFile, `https://localhost:${demo}/tls`]);
  const html = r.stdout;
  t.regex(html, /DEMO LISTENER/);
  t.regex(html, /<th>cipher suite<\/th><td>TLS_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)<\/td>/);
  t.true(html.includes('<b>ClientKeyExchange (RSA)</b>'));
  t.regex(html, /pre-master secret, decrypted with the server's private key/);
  t.regex(html, /<pre>0303[0-9a-f]{28}\n[0-9a-f]{32}\n[0-9a-f]{32}<\/pre>/);
  t.regex(html, /It is the same master secret OpenSSL logged/);
  t.regex(html, /forward secrecy/);
  const v13 = await runTool('curl', ['-sS', '--cacert', caFile, '--tlsv1.3', `https://localhost:${demo}/`]);
  t.not(v13.code, 0);
});

test.serial('an idle keep-alive HTTPS connection is closed after keepAliveTimeoutMs (the site sweep, no timer per socket)', async (t) => {
  const ca = readFileSync(join(lab.dataDir, 'tls', 'ca.crt'));
  const s = tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const closed = new Promise<number>((resolve) => s.once('close', () => resolve(Date.now())));
  s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const t0 = Date.now();
  const at = await closed;
  t.regex(got, /^HTTP\/1\.1 200 /, 'the request was answered on the kept-alive connection');
  const idleMs = at - t0;
  t.true(idleMs >= 1_900, `closed after ${idleMs} ms, before the 2 s keep-alive timeout`);
  t.true(idleMs < 6_000, `still open after ${idleMs} ms`);
});

test.serial('one http service: /healthz lists its plain and TLS listeners; /tls over plain HTTP redirects to the TLS listener', async (t) => {
  const health = await runTool('curl', ['-sS', `http://127.0.0.1:${http}/healthz`]);
  const j = JSON.parse(health.stdout) as { services: Array<{ name: string; listeners: Array<{ name: string; port: number; tls: boolean }> }> };
  t.deepEqual(
    j.services.map((s) => s.name),
    ['http'],
  );
  t.deepEqual(j.services[0].listeners, [
    { name: 'http', protocol: 'tcp', address: '127.0.0.1', port: http, tls: false },
    { name: 'https', protocol: 'tcp', address: '127.0.0.1', port: https, tls: true },
    { name: 'https-rsa-demo', protocol: 'tcp', address: '127.0.0.1', port: demo, tls: true },
  ]);
  const plain = await runTool('curl', ['-sS', '-i', '-H', `Host: localhost:${http}`, `http://127.0.0.1:${http}/tls`]);
  t.regex(plain.stdout, /^HTTP\/1\.1 302 Found\r\n/);
  t.true(plain.stdout.includes(`\r\nLocation: https://localhost:${https}/tls\r\n`), plain.stdout);
  const followed = await runTool('curl', ['-sS', '-L', '--cacert', caFile, `http://localhost:${http}/tls`]);
  t.regex(followed.stdout, /Your TLS handshake/);
  const landing = await runTool('curl', ['-sS', '--cacert', caFile, `https://localhost:${https}/`]);
  t.regex(landing.stdout, new RegExp(`https ${https}/tcp \\(TLS\\)`));
});
