// Issue 14: the lab CA carries name constraints (RFC 5280 section 4.2.1.10, critical), so a student who
// trusts it trusts nothing but the lab. Before, the CA could sign a certificate for any site, and a
// student (or anyone holding a copy of the data directory) could use it against every student who
// imported /ca.crt. Checked with OpenSSL against the real process's CA: the lab's own certificate
// verifies and is served; a leaf for example.com (or a foreign address) signed by the same CA key does
// not. An existing CA without constraints is kept (students already trust it) and a warning says so.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabProcess } from '../support/lab-process.js';

function openssl(args: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A leaf for `san` signed by the CA in `tlsDir` (what someone holding the CA key could make). */
function forgeLeaf(dir: string, tlsDir: string, name: string, san: string): string {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      join(tlsDir, 'ca.crt'),
      '-CAkey',
      join(tlsDir, 'ca.key'),
      '-CAcreateserial',
      '-out',
      crt,
      '-days',
      '30',
      '-extfile',
      ext,
    ],
    { stdio: 'ignore' },
  );
  return crt;
}

test('the lab CA is name-constrained: its own certificate verifies and is served, a forged example.com leaf fails', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-ca-nc-'));
  const work = mkdtempSync(join(tmpdir(), 'labnet-ca-forge-'));
  const lab = await startLabProcess({ only: ['http'], dataDir, timeoutMs: 60_000 });
  try {
    const tlsDir = join(dataDir, 'tls');
    const ca = join(tlsDir, 'ca.crt');
    const text = openssl(['x509', '-in', ca, '-noout', '-text']).out;
    t.regex(text, /X509v3 Name Constraints: critical\s+Permitted:/);
    t.regex(text, /DNS:lab\.test\b/);
    t.regex(text, /IP:127\.0\.0\.1\/255\.255\.255\.255/);
    t.notRegex(text, /Excluded:/);
    // The lab's own certificate verifies, and the HTTPS listener serves it.
    const own = openssl(['verify', '-CAfile', ca, join(tlsDir, 'server.crt')]);
    t.is(own.code, 0, own.out);
    const port = lab.port('http', 'https');
    const sc = openssl(
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca, '-verify_return_error', '-verify_hostname', 'localhost'],
      'Q\n',
    );
    t.regex(sc.out, /Verify return code: 0 \(ok\)/);
    // Forged leaves signed by the same CA key: another site's name, another address.
    for (const [name, san] of [
      ['example.com', 'DNS:example.com'],
      ['bank', 'DNS:www.bank.example'],
      ['dns-ip', 'IP:8.8.8.8'],
    ] as const) {
      const forged = openssl(['verify', '-CAfile', ca, forgeLeaf(work, tlsDir, name, san)]);
      t.not(forged.code, 0, `${san} must not verify`);
      t.regex(forged.out, /permitted subtree violation/, san);
    }
    // A name inside the lab's domain stays what the CA is for.
    t.is(openssl(['verify', '-CAfile', ca, forgeLeaf(work, tlsDir, 'inside', 'DNS:www.lab.test')]).code, 0);
  } finally {
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

test('an existing CA without name constraints is kept (students trust it) and a warning says how to replace it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-ca-old-'));
  const tlsDir = join(dataDir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(tlsDir, 'ca.key'),
      '-out',
      join(tlsDir, 'ca.crt'),
      '-days',
      '365',
      '-subj',
      '/CN=labnet lab CA (old)',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'ignore' },
  );
  const before = readFileSync(join(tlsDir, 'ca.crt'), 'utf8');
  const lab = await startLabProcess({ only: ['http'], dataDir, timeoutMs: 60_000 });
  try {
    t.is(readFileSync(join(tlsDir, 'ca.crt'), 'utf8'), before, 'kept');
    t.is(openssl(['verify', '-CAfile', join(tlsDir, 'ca.crt'), join(tlsDir, 'server.crt')]).code, 0, 'the server certificate is signed by it');
    t.regex(`${lab.stdout()}${lab.stderr()}`, /has no name constraints .* delete .*ca\.crt and ca\.key/);
  } finally {
    await lab.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
