// The lab certificate authority: on first start labnet makes a CA and a server certificate signed by
// it, keeps both under dataDir/tls and reuses them. node-forge lays out the X.509 certificates;
// the RSA keys and the signatures come from node:crypto (OpenSSL's key generator takes ~50-200 ms for
// 2048 bits where forge's pure-JS one takes seconds). The server certificate is made again, by the same
// CA, when its names no longer cover the configured hostname and the machine's addresses.
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

export interface LabCertificates {
  ca: CertificatePair;
  server: CertificatePair;
  /** What happened at load: 'generated', 'reused', 'renewed' (server certificate remade), 'configured'. */
  origin: 'generated' | 'reused' | 'renewed' | 'configured';
  /** The DNS names and IP addresses the server certificate covers. */
  names: string[];
}

export interface LabCaOptions {
  dataDir: string;
  hostname: string;
  domain: string;
  listen: string;
  extraNames?: readonly string[];
  /** Called while a key is being generated (progress on the terminal). */
  progress?: (message: string) => void;
  keyBits?: number;
}

export const CA_COMMON_NAME = 'labnet lab CA';

/** Service names under the lab domain the certificate covers (as the lab DNS answers them). */
export const LAB_SERVICE_LABELS = ['mail', 'www', 'autoconfig', 'autodiscover'] as const;

/** The names a server certificate must cover for this config on this machine. */
export function requiredNames(o: Pick<LabCaOptions, 'hostname' | 'listen' | 'extraNames'> & { domain?: string }): string[] {
  const names = new Set<string>([o.hostname.toLowerCase(), 'localhost', '127.0.0.1', '::1']);
  // The names students use (the lab DNS answers them all with this host's addresses).
  if (o.domain) {
    const d = o.domain.toLowerCase();
    names.add(d);
    for (const label of LAB_SERVICE_LABELS) names.add(`${label}.${d}`);
  }
  if (o.listen !== '0.0.0.0' && o.listen !== '::') names.add(normaliseIp(o.listen));
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Link-local IPv6 addresses carry a zone and change with the interface: browsers cannot use them.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')) continue;
      names.add(normaliseIp(a.address));
    }
  }
  for (const n of o.extraNames ?? []) names.add(isIP(n) ? normaliseIp(n) : n.toLowerCase());
  return [...names];
}

function normaliseIp(ip: string): string {
  if (isIP(ip) === 6) {
    // Canonical form through the URL parser: "0:0::1" and "::1" compare equal.
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  }
  return ip;
}

/** The names (DNS and IP) in a PEM certificate's subjectAltName. */
export function certificateNames(certPem: string): string[] {
  const alt = new X509Certificate(certPem).subjectAltName ?? '';
  const out: string[] = [];
  for (const part of alt.split(/,\s*/)) {
    if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) out.push(normaliseIp(part.slice(11)));
  }
  return out;
}

async function rsaKey(bits: number, label: string, progress?: (m: string) => void): Promise<string> {
  const t0 = Date.now();
  progress?.(`generating ${label} key (RSA ${bits}, node:crypto)...`);
  const timer = setInterval(() => progress?.(`  still generating ${label} key (${Math.round((Date.now() - t0) / 1000)} s)`), 1_000);
  try {
    return await new Promise<string>((resolve, reject) => {
      generateKeyPair(
        'rsa',
        {
          modulusLength: bits,
          publicExponent: 0x10001,
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        },
        (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
      );
    });
  } finally {
    clearInterval(timer);
    progress?.(`${label} key ready in ${Date.now() - t0} ms`);
  }
}

function serialNumber(): string {
  // Positive 16-byte serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x10;
  return b.toString('hex');
}

/** The forge public key of a PEM private key (read by node:crypto: forge parses only the public part). */
function publicKeyOf(keyPem: string): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString());
}

/**
 * Signs with RSASSA-PKCS1-v1_5 and SHA-256 (RFC 5280 section 4.1.1.3) by node:crypto: forge lays out
 * the certificate, OpenSSL does the private-key operation. Forge's own pure-JS signing makes V8 compile
 * its big-number loops with the optimising compiler, which left the first start about 8 MB heavier.
 */
function signWith(cert: forge.pki.Certificate, keyPem: string): void {
  const signer = {
    sign: (): string => sign('sha256', Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary'), keyPem).toString('binary'),
  };
  // cert.sign sets the algorithm and builds tbsCertificate, then asks the key for the signature.
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

function buildCa(keyPem: string, hostname: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKeyOf(keyPem);
  cert.serialNumber = serialNumber();
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600_000);
  const subject = [
    { name: 'commonName', value: `${CA_COMMON_NAME} (${hostname})` },
    { name: 'organizationName', value: 'labnet classroom lab' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWith(cert, keyPem);
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function buildServer(keyPem: string, ca: CertificatePair, names: readonly string[]): string {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKeyOf(keyPem);
  cert.serialNumber = serialNumber();
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600_000);
  // 397 days: browsers refuse longer server certificates, even from a private CA (Apple, Chrome policy).
  cert.validity.notAfter = new Date(now.getTime() + 397 * 24 * 3600_000);
  cert.setSubject([
    { name: 'commonName', value: names[0] },
    { name: 'organizationName', value: 'labnet classroom lab' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    {
      name: 'subjectAltName',
      altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
  ]);
  signWith(cert, ca.keyPem);
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

function readPair(dir: string, base: string): CertificatePair | undefined {
  const c = join(dir, `${base}.crt`);
  const k = join(dir, `${base}.key`);
  if (!existsSync(c) || !existsSync(k)) return undefined;
  return { certPem: readFileSync(c, 'utf8'), keyPem: readFileSync(k, 'utf8') };
}

function isUsable(pair: CertificatePair, caPem?: string): boolean {
  try {
    const x = new X509Certificate(pair.certPem);
    if (Date.parse(x.validTo) < Date.now() + 7 * 24 * 3600_000) return false;
    if (caPem && !x.verify(new X509Certificate(caPem).publicKey)) return false;
    return x.checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** The CA directory under the data dir. */
export function caDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

/** Loads the CA and server certificate from dataDir/tls, making what is missing or stale. */
export async function loadOrCreateLabCertificates(o: LabCaOptions): Promise<LabCertificates> {
  const dir = caDir(o.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const bits = o.keyBits ?? 2048;
  let origin: LabCertificates['origin'] = 'reused';
  let ca = readPair(dir, 'ca');
  let server = readPair(dir, 'server');
  // On first start both keys are needed: make them side by side (OpenSSL runs on the thread pool).
  const spareServerKey = (!ca || !isUsable(ca)) && !server ? rsaKey(bits, 'server', o.progress) : undefined;
  spareServerKey?.catch(() => {});
  if (!ca || !isUsable(ca)) {
    const keyPem = await rsaKey(bits, 'lab CA', o.progress);
    ca = { keyPem, certPem: buildCa(keyPem, o.hostname) };
    writeAtomic(join(dir, 'ca.key'), ca.keyPem, 0o600);
    writeAtomic(join(dir, 'ca.crt'), ca.certPem, 0o644);
    origin = 'generated';
  }
  const wanted = requiredNames(o);
  let names = server && isUsable(server, ca.certPem) ? certificateNames(server.certPem) : [];
  const covered = server !== undefined && names.length > 0 && wanted.every((n) => names.includes(n));
  if (!covered) {
    if (server && origin === 'reused') origin = 'renewed';
    // Keep the server key when it is still good: a student's pinned key or capture stays valid.
    const keyPem = server && origin === 'renewed' && safeKey(server.keyPem) ? server.keyPem : await (spareServerKey ?? rsaKey(bits, 'server', o.progress));
    names = wanted;
    server = { keyPem, certPem: buildServer(keyPem, ca, wanted) };
    writeAtomic(join(dir, 'server.key'), server.keyPem, 0o600);
    writeAtomic(join(dir, 'server.crt'), server.certPem, 0o644);
    if (origin === 'reused') origin = 'generated';
  }
  return { ca, server: server!, origin, names };
}

function safeKey(pem: string): boolean {
  try {
    const k = createPrivateKey(pem);
    return k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  } catch {
    return false;
  }
}

/** Reads the lab CA certificate without generating anything (for `labnet ca export`). */
export function readCaCertificate(dataDir: string): string | undefined {
  const p = join(caDir(dataDir), 'ca.crt');
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}
