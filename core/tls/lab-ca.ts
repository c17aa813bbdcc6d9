// The lab certificate authority: on first start labnet makes a CA and a server certificate signed by
// it, keeps both under dataDir/tls and reuses them. node-forge lays out the X.509 certificates;
// the RSA keys and the signatures come from node:crypto (OpenSSL's key generator takes ~50-200 ms for
// 2048 bits where forge's pure-JS one takes seconds). The server certificate is made again, by the same
// CA, when its names no longer cover the configured hostname and the machine's addresses.
//
// Name constraints (RFC 5280 section 4.2.1.10, critical): the CA may only vouch for the lab's DNS
// names (the domain and its subdomains, the hostname, localhost, extraNames) and the lab's addresses
// (each exactly: loopback, the listen address, the machine's addresses when the CA is made,
// extraNames), so a student who trusts it trusts no other site. A name the CA does not permit (the
// machine got a new address since) is left out of the server certificate and reported (`notCovered`);
// a CA made before constraints existed is kept, because students already trust it, and reported
// (`caUnconstrained`): delete dataDir/tls/ca.* to make a constrained one (students import it again).
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
  /** Names the configuration wants that the CA's name constraints do not permit (left out). */
  notCovered: string[];
  /** The CA has no name constraints (made by an earlier labnet): it could vouch for any site. */
  caUnconstrained: boolean;
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

/** The subtrees a new CA permits: DNS names (each with its subdomains) and exact addresses. */
export function permittedNames(o: Pick<LabCaOptions, 'hostname' | 'listen' | 'extraNames'> & { domain?: string }): { dns: string[]; ips: string[] } {
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const n of requiredNames(o)) {
    if (isIP(n)) ips.add(n);
    else dns.add(n);
  }
  // A name under another permitted one adds nothing (mail.lab.test under lab.test).
  const list = [...dns].filter((n) => ![...dns].some((b) => b !== n && n.endsWith(`.${b}`)));
  return { dns: list, ips: [...ips] };
}

/** The octets of an IPv4 (4) or IPv6 (16) address. */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const text = normaliseIp(ip);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const words = (part: string | undefined): number[] => (part ? part.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** RFC 5280 NameConstraints with permittedSubtrees only: dNSName [2] and iPAddress [7] (address + all-ones mask). */
function nameConstraintsValue(p: { dns: readonly string[]; ips: readonly string[] }): forge.asn1.Asn1 {
  const a = forge.asn1;
  const subtree = (type: number, value: string): forge.asn1.Asn1 =>
    a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [a.create(a.Class.CONTEXT_SPECIFIC, type, false, value)]);
  const trees = [
    ...p.dns.map((n) => subtree(2, n)),
    ...p.ips.map((ip) => {
      const bytes = ipBytes(ip).toString('binary');
      return subtree(7, bytes + '\xff'.repeat(bytes.length));
    }),
  ];
  return a.create(a.Class.UNIVERSAL, a.Type.SEQUENCE, true, [a.create(a.Class.CONTEXT_SPECIFIC, 0, true, trees)]);
}

/** The permitted subtrees of a CA certificate, or undefined when it has no name constraints. */
export function caNameConstraints(caPem: string): { dns: string[]; ips: Array<{ base: Buffer; mask: Buffer }> } | undefined {
  const cert = forge.pki.certificateFromPem(caPem);
  const ext = cert.getExtension('nameConstraints') as { permittedSubtrees?: Array<{ type: number; value: unknown }> } | null;
  if (ext === null) return undefined;
  const dns: string[] = [];
  const ips: Array<{ base: Buffer; mask: Buffer }> = [];
  for (const t of ext.permittedSubtrees ?? []) {
    if (typeof t.value !== 'string') continue;
    if (t.type === 2) dns.push(t.value.toLowerCase());
    if (t.type === 7) {
      const b = Buffer.from(t.value, 'binary');
      ips.push({ base: b.subarray(0, b.length / 2), mask: b.subarray(b.length / 2) });
    }
  }
  return { dns, ips };
}

/** True when a CA with these constraints may vouch for `name` (a DNS name or an address). */
export function caPermits(c: NonNullable<ReturnType<typeof caNameConstraints>>, name: string): boolean {
  if (isIP(name)) {
    const bytes = ipBytes(name);
    return c.ips.some(({ base, mask }) => base.length === bytes.length && bytes.every((v, i) => (v & mask[i]) === (base[i] & mask[i])));
  }
  const n = name.toLowerCase();
  return c.dns.some((b) => n === b || n.endsWith(`.${b}`));
}

function buildCa(keyPem: string, hostname: string, permitted: { dns: readonly string[]; ips: readonly string[] }): string {
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
    { id: '2.5.29.30', critical: true, value: nameConstraintsValue(permitted) },
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
    ca = { keyPem, certPem: buildCa(keyPem, o.hostname, permittedNames(o)) };
    writeAtomic(join(dir, 'ca.key'), ca.keyPem, 0o600);
    writeAtomic(join(dir, 'ca.crt'), ca.certPem, 0o644);
    origin = 'generated';
  }
  const constraints = caNameConstraints(ca.certPem);
  const all = requiredNames(o);
  // What the CA may not vouch for would make the whole certificate fail: left out, and reported.
  const wanted = constraints === undefined ? all : all.filter((n) => caPermits(constraints, n));
  const notCovered = all.filter((n) => !wanted.includes(n));
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
  return { ca, server: server!, origin, names, notCovered, caUnconstrained: constraints === undefined };
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
