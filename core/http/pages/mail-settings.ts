// What a mail client needs to know, taken from the listeners that actually run (so `--port-offset`
// and disabled services show), and the three documents clients fetch to set themselves up:
// - Thunderbird's autoconfig file (clientConfig version 1.1, as documented on the Mozilla wiki
//   "Thunderbird:Autoconfiguration:ConfigFileFormat"),
// - Outlook's Autodiscover POX answer (the "outlook/responseschema/2006a" schema: Protocol elements
//   with Type, Server, Port, LoginName, SSL/Encryption, AuthRequired),
// - an Apple configuration profile (.mobileconfig: a com.apple.mail.managed payload per account and a
//   com.apple.security.root payload that installs the lab CA).
// Implicit TLS (socketType SSL) is listed before STARTTLS (RFC 8314 section 3 prefers it); a plain
// port is listed only as STARTTLS when the lab offers STARTTLS (tls.offerStartTls), else as plain.
import { createHash, X509Certificate } from 'node:crypto';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { build as BuildPlist } from 'plist';

// plist (and the XML libraries under it, ~400 KB of the CLI bundle) is loaded on the first profile asked for.
let plistLoading: Promise<typeof BuildPlist> | undefined;
const loadPlist = (): Promise<typeof BuildPlist> =>
  (plistLoading ??= import('plist').then((m) => m.build ?? (m as unknown as { default: { build: typeof BuildPlist } }).default.build));
import type { LabInfo } from '../site.js';

export type SocketType = 'SSL' | 'STARTTLS' | 'plain';

export interface MailEndpoint {
  protocol: 'imap' | 'pop3' | 'smtp';
  /** The labnet listener ('imaps', 'submission'...). */
  listener: string;
  port: number;
  socket: SocketType;
}

export interface MailSettings {
  /** The server name (or address) clients should use. */
  host: string;
  domain: string;
  incoming: MailEndpoint[];
  outgoing: MailEndpoint[];
}

/** The mail endpoints of the services that run now, best first. */
export function mailSettings(lab: Pick<LabInfo, 'status' | 'domain' | 'offerStartTls'>, host: string): MailSettings {
  const running = lab.status().filter((s) => s.state === 'running');
  const port = (service: string, listener: string): number | undefined =>
    running.find((s) => s.name === service)?.listeners.find((l) => l.name === listener && l.protocol === 'tcp')?.port;
  const upgrade: SocketType = lab.offerStartTls === false ? 'plain' : 'STARTTLS';
  const list = (entries: Array<[MailEndpoint['protocol'], string, SocketType]>): MailEndpoint[] => {
    const out: MailEndpoint[] = [];
    for (const [protocol, listener, socket] of entries) {
      const p = port(protocol, listener);
      if (p !== undefined) out.push({ protocol, listener, port: p, socket });
    }
    return out;
  };
  const incoming = list([
    ['imap', 'imaps', 'SSL'],
    ['imap', 'imap', upgrade],
    ['pop3', 'pop3s', 'SSL'],
    ['pop3', 'pop3', upgrade],
  ]);
  const outgoing = list([
    ['smtp', 'smtps', 'SSL'],
    ['smtp', 'submission', upgrade],
  ]);
  // Port 25 only when there is no submission port at all (RFC 6409: clients submit on 587).
  if (outgoing.length === 0) outgoing.push(...list([['smtp', 'smtp', upgrade]]));
  return { host, domain: lab.domain.toLowerCase(), incoming, outgoing };
}

/** The account name of an address in the lab's domain, or undefined (the `emailaddress` query value). */
export function localPartOf(address: string, domain: string): string | undefined {
  if (address.length > 254) return undefined;
  const at = address.lastIndexOf('@');
  const local = (at < 0 ? address : address.slice(0, at)).toLowerCase();
  if (at >= 0 && address.slice(at + 1).toLowerCase() !== domain.toLowerCase()) return undefined;
  return /^[a-z0-9][a-z0-9._-]{0,63}$/.test(local) ? local : undefined;
}

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, indentBy: '  ', suppressEmptyNode: true });

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * Thunderbird autoconfig (clientConfig 1.1). `user` is the account when the request named an address
 * of ours; otherwise the username is Thunderbird's placeholder %EMAILLOCALPART%.
 */
export function autoconfigXml(m: MailSettings, user: string | undefined, setupUrl = `http://${m.host}/setup`): string {
  const username = user ?? '%EMAILLOCALPART%';
  const server = (e: MailEndpoint) => ({
    '@_type': e.protocol,
    hostname: m.host,
    port: e.port,
    socketType: e.socket,
    authentication: 'password-cleartext',
    username,
  });
  const doc = {
    clientConfig: {
      '@_version': '1.1',
      emailProvider: {
        '@_id': m.domain,
        domain: m.domain,
        displayName: `labnet lab (${m.domain})`,
        displayShortName: 'labnet',
        incomingServer: m.incoming.map(server),
        outgoingServer: m.outgoing.map(server),
        documentation: { '@_url': setupUrl, descr: { '@_lang': 'en', '#text': 'labnet mail setup' } },
      },
    },
  };
  return XML_DECL + xml.build(doc);
}

export const AUTODISCOVER_RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const AUTODISCOVER_OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** Outlook Autodiscover (POX) settings for `user`, or the error answer (code 600) when there is none. */
export function autodiscoverXml(m: MailSettings, user: string | undefined): string {
  if (user === undefined) {
    return (
      XML_DECL +
      xml.build({
        Autodiscover: {
          '@_xmlns': AUTODISCOVER_RESPONSE_NS,
          Response: {
            Error: {
              '@_Time': new Date().toISOString().slice(11, 19),
              '@_Id': '1',
              ErrorCode: 600,
              Message: 'Invalid Request',
              DebugData: 'no address of this lab',
            },
          },
        },
      })
    );
  }
  const protocol = (e: MailEndpoint) => ({
    Type: e.protocol.toUpperCase(),
    Server: m.host,
    Port: e.port,
    LoginName: user,
    DomainRequired: 'off',
    SPA: 'off',
    SSL: e.socket === 'plain' ? 'off' : 'on',
    // Encryption overrides SSL: "SSL" is implicit TLS, "TLS" is STARTTLS.
    Encryption: e.socket === 'SSL' ? 'SSL' : e.socket === 'STARTTLS' ? 'TLS' : 'None',
    AuthRequired: 'on',
    ...(e.protocol === 'smtp' ? { UsePOPAuth: 'on', SMTPLast: 'off' } : {}),
  });
  const first = (protocolName: MailEndpoint['protocol']) => m.incoming.find((e) => e.protocol === protocolName);
  const incoming = [first('imap'), first('pop3')].filter((e): e is MailEndpoint => e !== undefined);
  return (
    XML_DECL +
    xml.build({
      Autodiscover: {
        '@_xmlns': AUTODISCOVER_RESPONSE_NS,
        Response: {
          '@_xmlns': AUTODISCOVER_OUTLOOK_NS,
          User: { DisplayName: user, EMailAddress: `${user}@${m.domain}` },
          Account: {
            AccountType: 'email',
            Action: 'settings',
            Protocol: [...incoming, ...m.outgoing.slice(0, 1)].map(protocol),
          },
        },
      },
    })
  );
}

const requestParser = new XMLParser({ removeNSPrefix: true, processEntities: false, ignoreAttributes: true, parseTagValue: false });

/** Largest Autodiscover request read (a real one is about 400 octets). */
export const AUTODISCOVER_MAX_REQUEST = 8192;

/** The address in an Autodiscover POX request (`<Autodiscover><Request><EMailAddress>`), or undefined. */
export function autodiscoverRequestAddress(body: string): string | undefined {
  if (body.length > AUTODISCOVER_MAX_REQUEST || body.includes('<!')) return undefined; // no DTDs, no entities
  try {
    const doc = requestParser.parse(body) as { Autodiscover?: { Request?: { EMailAddress?: unknown } } };
    const a = doc.Autodiscover?.Request?.EMailAddress;
    return typeof a === 'string' ? a.trim() : undefined;
  } catch {
    return undefined;
  }
}

function uuidFrom(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // A name-based UUID (version 5 layout, SHA-256 truncated): the same user and CA give the same profile.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/**
 * An Apple configuration profile for `user`: the mail account (no password inside: the device asks
 * for it) and, when the lab has a CA, the CA as a trusted root.
 */
export async function mobileconfig(m: MailSettings, user: string, fullName: string | undefined, caPem: string | undefined): Promise<string> {
  const buildPlist = await loadPlist();
  const imap = m.incoming.find((e) => e.protocol === 'imap' && e.socket === 'SSL') ?? m.incoming.find((e) => e.protocol === 'imap') ?? m.incoming[0];
  const smtp = m.outgoing[0];
  const caDer = caPem ? Buffer.from(new X509Certificate(caPem).raw) : undefined;
  const seed = caDer ? createHash('sha256').update(caDer).digest('hex') : m.host;
  const ident = `test.labnet.${m.domain}`;
  const payloads: Array<Record<string, unknown>> = [];
  if (imap && smtp) {
    payloads.push({
      PayloadType: 'com.apple.mail.managed',
      PayloadVersion: 1,
      PayloadIdentifier: `${ident}.mail.${user}`,
      PayloadUUID: uuidFrom(seed, 'mail', user),
      PayloadDisplayName: `Mail: ${user}@${m.domain}`,
      EmailAccountDescription: `labnet ${m.domain}`,
      EmailAccountName: fullName ?? user,
      EmailAccountType: imap.protocol === 'pop3' ? 'EmailTypePOP' : 'EmailTypeIMAP',
      EmailAddress: `${user}@${m.domain}`,
      IncomingMailServerHostName: m.host,
      IncomingMailServerPortNumber: imap.port,
      IncomingMailServerUseSSL: imap.socket !== 'plain',
      IncomingMailServerUsername: user,
      IncomingMailServerAuthentication: 'EmailAuthPassword',
      OutgoingMailServerHostName: m.host,
      OutgoingMailServerPortNumber: smtp.port,
      OutgoingMailServerUseSSL: smtp.socket !== 'plain',
      OutgoingMailServerUsername: user,
      OutgoingMailServerAuthentication: 'EmailAuthPassword',
      OutgoingPasswordSameAsIncomingPassword: true,
    });
  }
  if (caDer) {
    payloads.push({
      PayloadType: 'com.apple.security.root',
      PayloadVersion: 1,
      PayloadIdentifier: `${ident}.ca`,
      PayloadUUID: uuidFrom(seed, 'ca'),
      PayloadDisplayName: 'labnet lab CA',
      PayloadCertificateFileName: 'labnet-ca.cer',
      PayloadContent: caDer,
    });
  }
  return buildPlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: `${ident}.profile.${user}`,
    PayloadUUID: uuidFrom(seed, 'profile', user),
    PayloadDisplayName: `labnet mail for ${user}@${m.domain}`,
    PayloadDescription: `Sets up ${user}@${m.domain} on the labnet lab server ${m.host} and trusts the lab CA. Install only on lab devices.`,
    PayloadOrganization: 'labnet',
    PayloadRemovalDisallowed: false,
    PayloadContent: payloads,
  } as Parameters<typeof BuildPlist>[0]);
}
