// A room that sets itself up, end to end (root only; CI runs as root): in a network namespace made by
// this test (a bridge for the lab LAN, a veth pair to a client namespace), labnet serves DHCP, DNS,
// HTTP(S) and mail. The client namespace gets its address and resolver from labnet's DHCP (busybox
// udhcpc), writes that resolver into /etc/netns/<ns>/resolv.conf (what `ip netns exec` mounts over
// /etc/resolv.conf, as a DHCP client's resolvconf hook would), fetches Thunderbird's autoconfig file
// from `autoconfig.<domain>` by name through the lab DNS, and sets up real mail clients only from that
// file: hostnames, ports, socket types and user names are read from the XML, never written here. The
// mail ports are moved off their usual numbers so a client that guessed them would fail. Every client
// trusts only the lab CA and verifies the certificate against the name it was given:
//   nodemailer submits a message (outgoing server of the XML),
//   fetchmail fetches it over POP3 (incoming pop3 server),
//   mutt sends one in batch mode through smtp_url (outgoing server),
//   mbsync syncs the IMAP INBOX into a Maildir (incoming imap server) and finds both.
// The DNS answers for the names and the RFC 6186 SRV records are checked against the XML, and
// fetchmail told to trust another CA is refused (the verification is really on).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { stringify } from 'yaml';
import { NetnsFixture, isRoot, type RunResult } from '../dhcp/netns-fixture.js';
import { udhcpcOnce } from '../dhcp/clients.js';

const PREFIX = '10.74.0';
/** Mail ports off their usual numbers: only a client that read them from the XML finds them. */
const PORTS = { smtp: 2525, submission: 2587, smtps: 2465, pop3: 2110, pop3s: 2995, imap: 2143, imaps: 2993 };
const ALICE = { name: 'alice', password: 'alice-netns-pw' };
const BOB = { name: 'bob', password: 'bob-netns-pw' };

interface XmlServer {
  '@type': string;
  hostname: string;
  port: number;
  socketType: 'SSL' | 'STARTTLS' | 'plain';
  authentication: string;
  username: string;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => n === 'incomingServer' || n === 'outgoingServer' });

/** Thunderbird's placeholders (%EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN%) filled in for `address`. */
function fill(value: string, address: string): string {
  const [local, domain] = address.split('@');
  return value
    .replace(/%EMAILADDRESS%/g, address)
    .replace(/%EMAILLOCALPART%/g, local)
    .replace(/%EMAILDOMAIN%/g, domain);
}

function parseAutoconfig(body: string, address: string): { domain: string; incoming: XmlServer[]; outgoing: XmlServer[] } {
  const doc = parser.parse(body) as { clientConfig: { emailProvider: { domain: string; incomingServer: XmlServer[]; outgoingServer: XmlServer[] } } };
  const p = doc.clientConfig.emailProvider;
  const norm = (s: XmlServer): XmlServer => ({
    ...s,
    hostname: fill(String(s.hostname), address),
    username: fill(String(s.username), address),
    port: Number(s.port),
  });
  return { domain: String(p.domain), incoming: p.incomingServer.map(norm), outgoing: p.outgoingServer.map(norm) };
}

/** The servers of a type the XML lists with TLS, in its order (implicit TLS first, as RFC 8314 prefers). */
function tlsServers(servers: XmlServer[], type: string): XmlServer[] {
  return servers.filter((x) => x['@type'] === type && x.socketType !== 'plain');
}

/** The fetchmail rc file for a POP3 or IMAP server of the XML (fetchmailrc(5) keywords). */
function fetchmailRc(s: XmlServer, password: string, caFile: string, caDir: string, mda: string): string {
  const proto = s['@type'] === 'pop3' ? 'POP3' : 'IMAP';
  // `ssl`: implicit TLS; otherwise `sslproto TLS1.2+` makes STARTTLS mandatory (fetchmail(1)).
  const tls = s.socketType === 'SSL' ? 'ssl' : "sslproto 'TLS1.2+'";
  return (
    `set no syslog\n` +
    `poll ${s.hostname} proto ${proto} service ${s.port} auth password timeout 20\n` +
    `  user '${s.username}' password '${password}' is root here\n` +
    `  ${tls} sslcertck sslcertfile '${caFile}' sslcertpath '${caDir}'\n` +
    `  keep mda '${mda}'\n`
  );
}

/** An mbsync (isync 1.4) configuration for the XML's IMAP server: INBOX pulled into a Maildir. */
function mbsyncRc(s: XmlServer, password: string, caFile: string, maildir: string): string {
  return [
    'IMAPAccount lab',
    `Host ${s.hostname}`,
    `Port ${s.port}`,
    `User ${s.username}`,
    `Pass ${password}`,
    `SSLType ${s.socketType === 'SSL' ? 'IMAPS' : 'STARTTLS'}`,
    'SystemCertificates no',
    `CertificateFile ${caFile}`,
    'AuthMechs LOGIN PLAIN',
    '',
    'IMAPStore lab-remote',
    'Account lab',
    '',
    'MaildirStore lab-local',
    `Path ${maildir}/`,
    `Inbox ${maildir}/INBOX`,
    '',
    'Channel lab',
    'Far :lab-remote:',
    'Near :lab-local:',
    'Patterns INBOX',
    'Create Near',
    'Sync Pull',
    'SyncState *',
    '',
  ].join('\n');
}

/** A muttrc (GnuTLS build) sending through the XML's outgoing server. */
function muttRc(s: XmlServer, from: string, password: string, caFile: string): string {
  const scheme = s.socketType === 'SSL' ? 'smtps' : 'smtp';
  return [
    `set from="${from}"`,
    `set smtp_url="${scheme}://${encodeURIComponent(s.username)}@${s.hostname}:${s.port}/"`,
    `set smtp_pass="${password}"`,
    `set ssl_force_tls=yes`,
    `set ssl_starttls=yes`,
    `set ssl_verify_host=yes`,
    `set ssl_usesystemcerts=no`,
    `set ssl_ca_certificates_file="${caFile}"`,
    `set certificate_file=/dev/null`,
    `set record=""`,
    `set use_from=yes`,
    '',
  ].join('\n');
}

/** A Node script run inside the client namespace: nodemailer set up from the XML's outgoing server. */
function nodemailerScript(nodemailerPath: string): string {
  return `const nodemailer = require(${JSON.stringify(nodemailerPath)});
const a = JSON.parse(process.argv[2]);
const t = nodemailer.createTransport({
  host: a.host, port: a.port, secure: a.socket === 'SSL', requireTLS: a.socket === 'STARTTLS',
  auth: { user: a.user, pass: a.pass }, tls: { ca: [require('fs').readFileSync(a.ca, 'utf8')], rejectUnauthorized: true },
  connectionTimeout: 15000, greetingTimeout: 15000,
});
t.sendMail({ from: a.from, to: a.to, subject: a.subject, text: a.text }).then(
  (info) => { console.log(JSON.stringify({ ok: true, response: info.response })); },
  (err) => { console.log(JSON.stringify({ ok: false, error: String(err && err.message) })); process.exitCode = 1; },
);
`;
}

function show(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-3000)}`;
}

/** A self-signed CA that never signed anything of the lab's (the negative check). */
function strangerCa(dir: string): string {
  const args = [...'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2'.split(' '), '-subj', '/CN=not the lab CA'];
  const r = spawnSync('openssl', [...args, '-keyout', join(dir, 'stranger.key'), '-out', join(dir, 'stranger.crt')], { stdio: 'ignore', timeout: 20_000 });
  if (r.status !== 0) throw new Error('openssl req failed');
  return join(dir, 'stranger.crt');
}

test.serial('a DHCP client sets up nodemailer, fetchmail, mutt and mbsync from the autoconfig file it finds through the lab DNS', async (t) => {
  if (!isRoot()) return t.pass('needs root (network namespaces)');
  const fx = new NetnsFixture(PREFIX);
  const resolvDir = join('/etc/netns', fx.clientNs);
  try {
    const link = fx.addLink();
    const dataDir = join(fx.dir, 'data');
    const config = join(fx.dir, 'labnet.yaml');
    writeFileSync(
      config,
      stringify({
        dataDir,
        listen: '0.0.0.0',
        limits: { shutdownGraceMs: 500 },
        users: [ALICE, BOB],
        services: {
          dhcp: { interface: fx.bridge, subnet: `${PREFIX}.0/24`, range: [`${PREFIX}.100`, `${PREFIX}.140`], probeMs: 300, leaseSeconds: 600 },
          dns: { port: 53 },
          http: { port: 80, httpsPort: 443 },
          smtp: { port: PORTS.smtp, submissionPort: PORTS.submission, smtpsPort: PORTS.smtps },
          pop3: { port: PORTS.pop3, pop3sPort: PORTS.pop3s },
          imap: { port: PORTS.imap, imapsPort: PORTS.imaps },
        },
      }),
    );
    const lab = await fx.startLab(config, { args: ['--only', 'dhcp,dns,http,smtp,pop3,imap'], logLevel: 'info', timeoutMs: 60_000 });
    try {
      // The trust anchor: the lab CA as the instructor exports it (labnet ca export writes the same file).
      const caFile = fx.path('lab-ca.pem');
      writeFileSync(caFile, readFileSync(join(dataDir, 'tls', 'ca.crt')));
      t.true(new X509Certificate(readFileSync(caFile)).ca);
      const emptyCaDir = fx.path('no-other-cas');
      mkdirSync(emptyCaDir);

      // 1. DHCP: an address and the resolver; the resolver goes where `ip netns exec` reads it.
      const lease = await udhcpcOnce(fx, link, { tag: 'student', extra: ['-x', 'hostname:student-pc'] });
      const bound = lease.events.find((e) => e.event === 'bound');
      t.truthy(bound, show(lease.run));
      const dns = bound!.dns.trim();
      const domain = bound!.domain.trim();
      t.is(dns, fx.serverIp, 'DHCP names the lab DNS');
      t.is(domain, 'lab.test', 'DHCP gives the lab domain');
      mkdirSync(resolvDir, { recursive: true });
      writeFileSync(join(resolvDir, 'resolv.conf'), `nameserver ${dns}\nsearch ${domain}\noptions timeout:2 attempts:2\n`);

      // 2. Thunderbird's first look-up for alice@<domain>: http://autoconfig.<domain>/mail/config-v1.1.xml.
      const address = `${ALICE.name}@${domain}`;
      const url = `http://autoconfig.${domain}/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}`;
      const fetched = await fx.run(fx.clientNs, ['curl', '-sS', '--fail', '--max-time', '15', '-w', '\n%{remote_ip}', url]);
      t.is(fetched.code, 0, show(fetched));
      const nl = fetched.stdout.lastIndexOf('\n');
      t.is(fetched.stdout.slice(nl + 1), fx.serverIp, 'autoconfig.<domain> resolved through the lab DNS to the lab');
      const ac = parseAutoconfig(fetched.stdout.slice(0, nl), address);
      t.is(ac.domain, domain);
      // The well-known URL on the domain itself (Thunderbird's second look-up) gives the same servers.
      const wellKnown = await fx.run(fx.clientNs, [
        'curl',
        '-sS',
        '--fail',
        '--max-time',
        '15',
        `http://${domain}/.well-known/autoconfig/mail/config-v1.1.xml`,
      ]);
      t.is(wellKnown.code, 0, show(wellKnown));
      const wk = parseAutoconfig(wellKnown.stdout, address);
      t.deepEqual(
        wk.incoming.map((s) => [s.hostname, s.port, s.socketType]),
        ac.incoming.map((s) => [s.hostname, s.port, s.socketType]),
      );

      // Every server the file lists with TLS: implicit TLS (listed first) and STARTTLS.
      const pop3s = tlsServers(ac.incoming, 'pop3');
      const imaps = tlsServers(ac.incoming, 'imap');
      const smtps = tlsServers(ac.outgoing, 'smtp');
      for (const s of [...pop3s, ...imaps, ...smtps]) t.log(`autoconfig: ${s['@type']} ${s.hostname}:${s.port} ${s.socketType} user ${s.username}`);
      t.deepEqual(
        [pop3s, imaps, smtps].map((l) => l.map((s) => s.socketType)),
        [
          ['SSL', 'STARTTLS'],
          ['SSL', 'STARTTLS'],
          ['SSL', 'STARTTLS'],
        ],
      );
      // The moved ports are what the file says (nothing here could have guessed them).
      for (const s of [...pop3s, ...imaps, ...smtps]) t.true(Object.values(PORTS).includes(s.port), `${s['@type']} ${s.port}`);
      const port = (list: XmlServer[], socket: string) => list.find((s) => s.socketType === socket)!.port;

      // 3. What the lab DNS answers for the names the file uses, and the RFC 6186 SRV records.
      const dig = async (...q: string[]) => (await fx.run(fx.clientNs, ['dig', '+short', '+time=2', '+tries=2', ...q])).stdout.trim();
      for (const host of new Set([...pop3s, ...imaps, ...smtps].map((s) => s.hostname))) t.is(await dig(host, 'A'), fx.serverIp, `A ${host}`);
      // "priority weight port target" (RFC 2782); the ports and the target are the autoconfig file's.
      const srvPort = async (owner: string) => {
        const [, , p, target] = (await dig(`${owner}.${domain}`, 'SRV')).split(/\s+/);
        t.is(target?.replace(/\.$/, ''), imaps[0].hostname, `${owner} target`);
        return Number(p);
      };
      t.is(await srvPort('_imaps._tcp'), port(imaps, 'SSL'));
      t.is(await srvPort('_imap._tcp'), port(imaps, 'STARTTLS'));
      t.is(await srvPort('_pop3s._tcp'), port(pop3s, 'SSL'));
      t.is(await srvPort('_pop3._tcp'), port(pop3s, 'STARTTLS'));
      t.is(await srvPort('_submissions._tcp'), port(smtps, 'SSL'));
      t.is(await srvPort('_submission._tcp'), port(smtps, 'STARTTLS'));

      // 4. nodemailer (the test suites' client) submits a message to alice through each outgoing server.
      const require = createRequire(import.meta.url);
      const mailer = fx.path('send.cjs');
      writeFileSync(mailer, nodemailerScript(require.resolve('nodemailer')));
      for (const smtp of smtps) {
        const sent = await fx.run(fx.clientNs, [
          process.execPath,
          mailer,
          JSON.stringify({
            host: smtp.hostname,
            port: smtp.port,
            socket: smtp.socketType,
            user: smtp.username,
            pass: ALICE.password,
            ca: caFile,
            from: address,
            to: address,
            subject: `from nodemailer over ${smtp.socketType}`,
            text: 'delivered by nodemailer, fetched by fetchmail',
          }),
        ]);
        t.is(sent.code, 0, `nodemailer ${smtp.socketType}: ${show(sent)}`);
        t.regex(sent.stdout, /"ok":true/);
      }

      // 5. fetchmail fetches them over each POP3 server of the file, certificate checked against the lab CA.
      const fetchmail = async (rcText: string, tag: string): Promise<{ run: RunResult; messages: string[] }> => {
        const home = fx.path(`fetchmail-${tag}`);
        const out = join(home, 'fetched');
        mkdirSync(out, { recursive: true });
        const rc = join(home, 'fetchmailrc');
        // The MDA: one file per message.
        writeFileSync(rc, rcText.replace('@MDA@', fx.script(`mda-${tag}.sh`, `cat > "$(mktemp ${out}/msg-XXXXXX)"`)));
        chmodSync(rc, 0o600);
        const run = await fx.run(fx.clientNs, ['env', `FETCHMAILHOME=${home}`, `HOME=${home}`, 'fetchmail', '-f', rc, '-v', '--nodetach'], 60_000);
        return { run, messages: readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8')) };
      };
      for (const pop3 of pop3s) {
        const fm = await fetchmail(fetchmailRc(pop3, ALICE.password, caFile, emptyCaDir, '@MDA@'), pop3.socketType);
        t.is(fm.run.code, 0, `fetchmail ${pop3.socketType}: ${show(fm.run)}`);
        t.is(fm.messages.length, 2, show(fm.run));
        for (const socket of ['SSL', 'STARTTLS'])
          t.true(fm.messages.some((m) => m.includes(`Subject: from nodemailer over ${socket}`) && m.includes('delivered by nodemailer, fetched by fetchmail')));
        if (pop3.socketType === 'STARTTLS') t.regex(fm.run.stdout + fm.run.stderr, /STLS/);
      }
      // The same fetchmail trusting another CA is refused: the verification above was real.
      const refused = await fetchmail(fetchmailRc(pop3s[0], ALICE.password, strangerCa(fx.dir), emptyCaDir, '@MDA@'), 'stranger');
      t.not(refused.run.code, 0, `fetchmail trusting a stranger CA: ${show(refused.run)}`);
      t.regex(refused.run.stdout + refused.run.stderr, /certificate/i);
      t.is(refused.messages.length, 0);

      // 6. mutt sends one in batch mode through each outgoing server.
      const muttDir = fx.path('mutt');
      mkdirSync(muttDir);
      writeFileSync(join(muttDir, 'body.txt'), 'sent by mutt, synced by mbsync\n');
      for (const smtp of smtps) {
        const muttrc = join(muttDir, `muttrc-${smtp.socketType}`);
        writeFileSync(muttrc, muttRc(smtp, address, ALICE.password, caFile));
        const mutt = await fx.run(fx.clientNs, [
          '/bin/sh',
          '-c',
          `HOME=${muttDir} mutt -n -F ${muttrc} -s 'from mutt over ${smtp.socketType}' -- ${address} < ${join(muttDir, 'body.txt')}`,
        ]);
        t.is(mutt.code, 0, `mutt ${smtp.socketType}: ${show(mutt)}`);
      }

      // 7. mbsync syncs the IMAP INBOX through each IMAP server of the file and finds all four messages.
      for (const imap of imaps) {
        const maildir = fx.path(`Mail-${imap.socketType}`);
        mkdirSync(maildir);
        const mbrc = fx.path(`mbsyncrc-${imap.socketType}`);
        writeFileSync(mbrc, mbsyncRc(imap, ALICE.password, caFile, maildir));
        const mb = await fx.run(fx.clientNs, ['env', `HOME=${fx.dir}`, 'mbsync', '-c', mbrc, '-V', 'lab'], 60_000);
        t.is(mb.code, 0, `mbsync ${imap.socketType}: ${show(mb)}`);
        const inbox = join(maildir, 'INBOX');
        const synced = ['cur', 'new'].flatMap((d) => readdirSync(join(inbox, d)).map((f) => readFileSync(join(inbox, d, f), 'utf8')));
        t.is(synced.length, 4, show(mb));
        for (const socket of ['SSL', 'STARTTLS']) {
          t.true(synced.some((m) => m.includes(`Subject: from nodemailer over ${socket}`)));
          t.true(synced.some((m) => m.includes(`Subject: from mutt over ${socket}`) && m.includes('sent by mutt, synced by mbsync')));
        }
      }
      // mbsync trusting another CA is refused too.
      const strangerMaildir = fx.path('Mail-stranger');
      mkdirSync(strangerMaildir);
      const strangerRc = fx.path('mbsyncrc-stranger');
      writeFileSync(strangerRc, mbsyncRc(imaps[0], ALICE.password, join(fx.dir, 'stranger.crt'), strangerMaildir));
      const mbRefused = await fx.run(fx.clientNs, ['env', `HOME=${fx.dir}`, 'mbsync', '-c', strangerRc, 'lab'], 60_000);
      t.not(mbRefused.code, 0, `mbsync trusting a stranger CA: ${show(mbRefused)}`);
      t.regex(mbRefused.stdout + mbRefused.stderr, /certificate/i);
    } finally {
      await lab.stop();
    }
  } finally {
    rmSync(resolvDir, { recursive: true, force: true });
    await fx.destroy();
  }
});
