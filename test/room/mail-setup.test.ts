// One-click mail client setup, against the real `labnet start` process: Thunderbird's autoconfig file
// checked by the rules Thunderbird's own reader applies (readFromXML in comm-central: an emailProvider,
// incomingServer type imap/pop3, hostname, port 1-65535, socketType plain/SSL/STARTTLS, a known
// authentication value, a username; outgoingServer type smtp), then curl (a real client) set up only
// from that file reaches every listed server by name with the certificate verified against the lab
// CA; Outlook's Autodiscover POX answer; the Apple profile (parsed as a plist, the CA payload is the lab
// CA); hostile Host headers; and the certificate's names.
import test from 'ava';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { parse as parsePlist } from 'plist';
import fc from 'fast-check';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { parseHostHeader } from '../../core/http/pages/reached-host.js';

const run = promisify(execFile);
interface AdProtocol {
  Type: string;
  Server: string;
  Port: number;
  LoginName: string;
  SSL: string;
  Encryption: string;
  AuthRequired: string;
  SPA: string;
}
interface AdResponse {
  '@xmlns': string;
  Account: { AccountType: string; Action: string; Protocol: AdProtocol[] };
}
type Plist = Record<string, unknown>;
let lab: LabProcess;
let caFile: string;

test.before(async () => {
  lab = await startLabProcess({ only: ['http', 'smtp', 'imap', 'pop3'], timeoutMs: 60_000 });
  caFile = join(lab.dataDir, 'ca-download.crt');
  writeFileSync(caFile, (await get('/ca.crt')).body);
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

async function get(path: string, host = 'labnet.lab.test', extra: string[] = []): Promise<{ status: number; body: string; type: string }> {
  const url = `http://127.0.0.1:${lab.port('http')}${path}`;
  const r = await run('curl', ['-sS', '-H', `Host: ${host}`, '-w', '\n%{http_code} %{content_type}', ...extra, url], { maxBuffer: 4 << 20 });
  const nl = r.stdout.lastIndexOf('\n');
  const [status, type] = r.stdout.slice(nl + 1).split(' ');
  return { status: Number(status), body: r.stdout.slice(0, nl), type: type ?? '' };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['incomingServer', 'outgoingServer', 'Protocol'].includes(name),
});

interface TbServer {
  '@type': string;
  hostname: string;
  port: number;
  socketType: string;
  authentication: string;
  username: string;
}

/** Thunderbird's reader rules (comm-central readFromXML), as assertions. */
function checkThunderbird(t: import('ava').ExecutionContext, body: string): { incoming: TbServer[]; outgoing: TbServer[] } {
  const doc = xml.parse(body) as { clientConfig?: { '@version': string; emailProvider?: Record<string, unknown> } };
  t.is(doc.clientConfig?.['@version'], '1.1');
  const p = doc.clientConfig!.emailProvider!;
  t.truthy(p, 'emailProvider is required');
  t.is(p['@id'], 'lab.test');
  t.is(p.domain, 'lab.test');
  const incoming = p.incomingServer as TbServer[];
  const outgoing = p.outgoingServer as TbServer[];
  t.true(incoming.length > 0 && outgoing.length > 0);
  for (const s of [...incoming, ...outgoing]) {
    t.regex(s.hostname, /^[a-z0-9.-]+$/);
    t.true(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535);
    t.true(['plain', 'SSL', 'STARTTLS'].includes(s.socketType), s.socketType);
    t.true(['password-cleartext', 'plain', 'password-encrypted', 'secure'].includes(s.authentication));
    t.truthy(s.username);
  }
  for (const s of incoming) t.true(['imap', 'pop3'].includes(s['@type']));
  for (const s of outgoing) t.is(s['@type'], 'smtp');
  return { incoming, outgoing };
}

test('autoconfig gives the real ports, implicit TLS first, by the lab hostname', async (t) => {
  const r = await get('/.well-known/autoconfig/mail/config-v1.1.xml', 'autoconfig.lab.test');
  t.is(r.status, 200);
  t.is(r.type, 'application/xml;');
  const { incoming, outgoing } = checkThunderbird(t, r.body);
  t.deepEqual(
    incoming.map((s) => [s['@type'], s.port, s.socketType]),
    [
      ['imap', lab.port('imap', 'imaps'), 'SSL'],
      ['imap', lab.port('imap', 'imap'), 'STARTTLS'],
      ['pop3', lab.port('pop3', 'pop3s'), 'SSL'],
      ['pop3', lab.port('pop3', 'pop3'), 'STARTTLS'],
    ],
  );
  t.deepEqual(
    outgoing.map((s) => [s.port, s.socketType]),
    [
      [lab.port('smtp', 'smtps'), 'SSL'],
      [lab.port('smtp', 'submission'), 'STARTTLS'],
    ],
  );
  // autoconfig.<domain> exists for discovery only: clients are sent to the lab hostname.
  for (const s of [...incoming, ...outgoing]) t.is(s.hostname, 'labnet.lab.test');
  t.is(incoming[0].username, '%EMAILLOCALPART%');
});

test('autoconfig with emailaddress names the account; another domain or unknown user keeps the placeholder', async (t) => {
  const mine = checkThunderbird(t, (await get('/mail/config-v1.1.xml?emailaddress=alice%40lab.test')).body);
  t.is(mine.incoming[0].username, 'alice');
  const other = checkThunderbird(t, (await get('/mail/config-v1.1.xml?emailaddress=alice%40example.org')).body);
  t.is(other.incoming[0].username, '%EMAILLOCALPART%');
  const nobody = checkThunderbird(t, (await get('/mail/config-v1.1.xml?emailaddress=mallory%40lab.test')).body);
  t.is(nobody.incoming[0].username, '%EMAILLOCALPART%');
  const hostile = await get(`/mail/config-v1.1.xml?emailaddress=${'%3C'.repeat(600)}`);
  t.is(hostile.status, 200);
  t.false(hostile.body.includes('<<'));
});

test('curl set up only from the autoconfig file reaches every server by name, certificate verified', async (t) => {
  const { incoming, outgoing } = checkThunderbird(t, (await get('/mail/config-v1.1.xml?emailaddress=alice%40lab.test')).body);
  const scheme = (s: TbServer) => `${s['@type']}${s.socketType === 'SSL' ? 's' : ''}`;
  // --resolve stands in for the lab DNS: the name resolves to loopback, and TLS checks that name.
  const common = (s: TbServer) => [
    '-sS',
    '--max-time',
    '20',
    '--cacert',
    caFile,
    '--resolve',
    `${s.hostname}:${s.port}:127.0.0.1`,
    ...(s.socketType === 'STARTTLS' ? ['--ssl-reqd'] : []),
  ];
  for (const s of incoming) {
    const r = await run('curl', [...common(s), '-u', `${s.username}:alice-lab`, `${scheme(s)}://${s.hostname}:${s.port}/`]);
    t.regex(r.stdout, s['@type'] === 'imap' ? /LIST/ : /^(\d+ \d+\r?\n)*(\r?\n)?$/, `${scheme(s)} ${s.port}`);
  }
  for (const s of outgoing) {
    const mail = join(lab.dataDir, 'mail.txt');
    writeFileSync(mail, `From: alice@lab.test\r\nTo: bob@lab.test\r\nSubject: via ${s.socketType}\r\n\r\nset up from autoconfig\r\n`);
    await run('curl', [
      ...common(s),
      '-u',
      `${s.username}:alice-lab`,
      '--mail-from',
      'alice@lab.test',
      '--mail-rcpt',
      'bob@lab.test',
      '-T',
      mail,
      `smtp${s.socketType === 'SSL' ? 's' : ''}://${s.hostname}:${s.port}/`,
    ]);
  }
  const bob = await run('curl', ['-sS', '-u', 'bob:bob-lab', `pop3://127.0.0.1:${lab.port('pop3', 'pop3')}/`]);
  t.is(bob.stdout.trim().split('\n').length, outgoing.length, 'each submission arrived');
  // And a name the certificate does not carry is refused: the check is real.
  const s = incoming[0];
  const bad = await run('curl', [
    '-sS',
    '--cacert',
    caFile,
    '--resolve',
    `evil.example:${s.port}:127.0.0.1`,
    '-u',
    'alice:alice-lab',
    `imaps://evil.example:${s.port}/`,
  ]).catch((e: { stderr: string }) => e);
  t.regex(bad.stderr, /certificate|SSL/i);
});

const AD_REQUEST = (address: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;

test('Outlook Autodiscover (POX) answers the settings for a lab address and error 600 otherwise', async (t) => {
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
    const r = await get(path, 'autodiscover.lab.test', ['-X', 'POST', '-H', 'Content-Type: text/xml', '--data-binary', AD_REQUEST('Alice@lab.test')]);
    t.is(r.status, 200);
    const doc = xml.parse(r.body) as { Autodiscover: { '@xmlns': string; Response: AdResponse } };
    t.is(doc.Autodiscover['@xmlns'], 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
    const resp = doc.Autodiscover.Response;
    t.is(resp['@xmlns'], 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
    t.is(resp.Account.AccountType, 'email');
    t.is(resp.Account.Action, 'settings');
    const protocols = resp.Account.Protocol;
    const byType = Object.fromEntries(protocols.map((p) => [p.Type, p]));
    t.deepEqual(Object.keys(byType).sort(), ['IMAP', 'POP3', 'SMTP']);
    t.is(byType.IMAP.Port, lab.port('imap', 'imaps'));
    t.is(byType.IMAP.SSL, 'on');
    t.is(byType.IMAP.Encryption, 'SSL');
    t.is(byType.SMTP.Port, lab.port('smtp', 'smtps'));
    for (const p of protocols) {
      t.is(p.Server, 'labnet.lab.test');
      t.is(p.LoginName, 'alice');
      t.is(p.AuthRequired, 'on');
      t.is(p.SPA, 'off');
    }
  }
  for (const body of [AD_REQUEST('alice@example.org'), AD_REQUEST('nobody@lab.test'), '<!DOCTYPE x [<!ENTITY a "aaaa">]><Autodiscover/>', 'not xml <<<']) {
    const r = await get('/autodiscover/autodiscover.xml', 'labnet.lab.test', ['-X', 'POST', '--data-binary', body]);
    t.is(r.status, 200);
    const doc = xml.parse(r.body) as { Autodiscover: { Response: { Error: { ErrorCode: number } } } };
    t.is(doc.Autodiscover.Response.Error.ErrorCode, 600);
  }
  const big = await get('/autodiscover/autodiscover.xml', 'labnet.lab.test', ['-X', 'POST', '--data-binary', 'x'.repeat(20_000)]);
  t.is(big.status, 413);
  t.is((await get('/autodiscover/autodiscover.xml')).status, 405);
});

test('the Apple profile carries the account settings and the lab CA', async (t) => {
  const r = await get('/setup/alice.mobileconfig');
  t.is(r.status, 200);
  t.is(r.type, 'application/x-apple-aspen-config');
  const p = parsePlist(r.body) as Plist;
  t.is(p.PayloadType, 'Configuration');
  t.is(p.PayloadVersion, 1);
  t.regex(p.PayloadUUID as string, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  const mail = (p.PayloadContent as Array<Plist>).find((x) => x.PayloadType === 'com.apple.mail.managed')!;
  t.is(mail.EmailAccountType, 'EmailTypeIMAP');
  t.is(mail.EmailAddress, 'alice@lab.test');
  t.is(mail.IncomingMailServerHostName, 'labnet.lab.test');
  t.is(mail.IncomingMailServerPortNumber, lab.port('imap', 'imaps'));
  t.is(mail.IncomingMailServerUseSSL, true);
  t.is(mail.IncomingMailServerUsername, 'alice');
  t.is(mail.IncomingMailServerAuthentication, 'EmailAuthPassword');
  t.is(mail.OutgoingMailServerPortNumber, lab.port('smtp', 'smtps'));
  t.is(mail.OutgoingMailServerUseSSL, true);
  t.false('IncomingPassword' in mail, 'no password in the profile');
  const root = (p.PayloadContent as Array<Plist>).find((x) => x.PayloadType === 'com.apple.security.root')!;
  const der = Buffer.from(root.PayloadContent as Uint8Array);
  t.is(new X509Certificate(der).fingerprint256, new X509Certificate(readFileSync(caFile)).fingerprint256);
  // The same profile twice: the same UUIDs (installing again replaces rather than duplicates).
  t.is((parsePlist((await get('/setup/alice.mobileconfig')).body) as Plist).PayloadUUID, p.PayloadUUID);
  t.is((await get('/setup/mallory.mobileconfig')).status, 404);
  t.is((await get('/setup/..%2f..%2fetc')).status, 400);
});

test('the landing page and /ca use the validated Host and the real ports; hostile Hosts fall back', async (t) => {
  const httpPort = lab.port('http');
  const httpsPort = lab.port('http', 'https');
  const byName = await get('/', 'www.lab.test');
  t.regex(byName.body, new RegExp(`curl -v http://www\\.lab\\.test:${httpPort}/index\\.html`));
  t.regex(byName.body, new RegExp(`server <b>www\\.lab\\.test</b>, IMAP, port ${lab.port('imap', 'imaps')}, security SSL/TLS`));
  const hostile = await get('/', `evil.example:${httpPort}`);
  t.false(hostile.body.includes('evil.example'));
  t.regex(hostile.body, new RegExp(`curl -v http://labnet\\.lab\\.test:${httpPort}/`));
  for (const h of ['<script>x</script>', 'a'.repeat(280), '127.0.0.1:99999', '[::1', '8.8.8.8']) {
    const r = await get('/', h);
    t.true(r.status === 200 || r.status === 400, h);
    if (r.status === 200) t.regex(r.body, /http:\/\/labnet\.lab\.test:\d+\/index\.html/, h);
  }
  // A claimed port is ignored: the port shown is the one the connection reached.
  const lying = await get('/', '127.0.0.1:1');
  t.regex(lying.body, new RegExp(`curl -v http://127\\.0\\.0\\.1:${httpPort}/index\\.html`));
  const ca = await get('/ca', `127.0.0.1:${httpPort}`);
  t.regex(ca.body, new RegExp(`curl --cacert labnet-ca\\.crt https://127\\.0\\.0\\.1:${httpsPort}/`));
  t.regex(ca.body, new RegExp(`openssl s_client -connect 127\\.0\\.0\\.1:${httpsPort} `));
  t.notRegex(ca.body, /:443\b/);
  // Passwords are not published unless services.http.landingShowsPasswords says so.
  t.false(byName.body.includes('alice-lab'));
});

test('the lab certificate covers the names students use', (t) => {
  const names = new X509Certificate(readFileSync(join(lab.dataDir, 'tls', 'server.crt'))).subjectAltName ?? '';
  for (const n of ['labnet.lab.test', 'lab.test', 'mail.lab.test', 'www.lab.test', 'autoconfig.lab.test', 'autodiscover.lab.test', 'localhost'])
    t.true(names.includes(`DNS:${n}`), n);
  t.true(names.includes('IP Address:127.0.0.1'));
});

test('parseHostHeader never throws and accepts only names, IPv4 and bracketed IPv6 with a valid port', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      const r = parseHostHeader(s);
      if (r === undefined) return true;
      return (r.port === undefined || (r.port >= 1 && r.port <= 65535)) && !/[\s<>"'/]/.test(r.name);
    }),
    { numRuns: 2000 },
  );
  t.deepEqual(parseHostHeader('Mail.Lab.Test.:8080'), { name: 'mail.lab.test', port: 8080 });
  t.deepEqual(parseHostHeader('[0:0::1]:80'), { name: '::1', port: 80 });
  t.is(parseHostHeader('a:b:c'), undefined);
  t.is(parseHostHeader('x:0'), undefined);
});
