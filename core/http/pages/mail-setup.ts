// One-click mail client setup, on every HTTP site:
// - /.well-known/autoconfig/mail/config-v1.1.xml and /mail/config-v1.1.xml?emailaddress=... :
//   Thunderbird's autoconfig (it asks autoconfig.<domain> and <domain>/.well-known/...),
// - POST /autodiscover/autodiscover.xml (and Outlook's /Autodiscover/Autodiscover.xml): the POX answer,
// - /setup: the accounts, each linking to /setup/<name>: that student's settings, a QR code of the
//   page's own address (a phone opens it) and /setup/<name>.mobileconfig (Apple profile + lab CA).
// The server name is the lab hostname whenever the lab DNS runs (so certificate names match), else the
// name or address the visitor reached us by (reached-host.ts: validated, never taken on trust).
import QRCode from 'qrcode';
import type { HttpExchange } from '../exchange.js';
import { escapeHtml } from '../response.js';
import type { HttpRoute } from '../routes.js';
import type { LabInfo } from '../site.js';
import { htmlPage } from './html-page.js';
import {
  AUTODISCOVER_MAX_REQUEST,
  autoconfigXml,
  autodiscoverRequestAddress,
  autodiscoverXml,
  localPartOf,
  mailSettings,
  mobileconfig,
  type MailEndpoint,
  type MailSettings,
} from './mail-settings.js';
import { reachedHost, type ReachedHost } from './reached-host.js';

export const AUTOCONFIG_PATHS = ['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml'] as const;
export const AUTODISCOVER_PATHS = ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml'] as const;

/** True when the lab DNS answers for the lab's names (then pages give names, not addresses). */
export function labHasDns(lab: Pick<LabInfo, 'status'>): boolean {
  return lab.status().some((s) => s.name === 'dns' && s.state === 'running');
}

/** The server name mail clients should use, for a visitor who reached us as `reached`. */
export function mailHost(lab: Pick<LabInfo, 'status' | 'hostname'>, reached: ReachedHost): string {
  // autoconfig.<domain> and autodiscover.<domain> exist for discovery only: mail goes to the hostname.
  if (labHasDns(lab) || /^auto(config|discover)\./.test(reached.name)) return lab.hostname.toLowerCase();
  return reached.name;
}

export interface SetupAccount {
  name: string;
  fullName?: string;
}

/** The accounts pages may name (config users, roster users). */
export function setupAccounts(lab: LabInfo): SetupAccount[] {
  return lab.accounts ? lab.accounts() : lab.users.map((u) => ({ name: u.name.toLowerCase() }));
}

function findAccount(lab: LabInfo, name: string): SetupAccount | undefined {
  const n = name.toLowerCase();
  return setupAccounts(lab).find((a) => a.name === n);
}

function settingsFor(lab: LabInfo, ex: HttpExchange): { reached: ReachedHost; m: MailSettings } {
  const reached = reachedHost(lab, ex);
  return { reached, m: mailSettings(lab, mailHost(lab, reached)) };
}

const XML = 'Content-Type: application/xml; charset=utf-8\r\nCache-Control: no-store\r\n';

export function mailSetupRoutes(lab: LabInfo): HttpRoute[] {
  const autoconfig = (ex: HttpExchange): void => {
    const { reached, m } = settingsFor(lab, ex);
    const address = new URLSearchParams(ex.req.query.slice(0, 1024)).get('emailaddress') ?? '';
    const local = address === '' ? undefined : localPartOf(address, lab.domain);
    ex.send(200, XML, autoconfigXml(m, local !== undefined && findAccount(lab, local) ? local : undefined, `${reached.origin}/setup`));
  };
  const autodiscover = async (ex: HttpExchange): Promise<void> => {
    const chunks: Buffer[] = [];
    const body = await ex.readBody(AUTODISCOVER_MAX_REQUEST, (c) => {
      chunks.push(c);
    });
    if (body.overflow) {
      ex.sendError(413, `an Autodiscover request is at most ${AUTODISCOVER_MAX_REQUEST} octets`, { close: true });
      return;
    }
    const { m } = settingsFor(lab, ex);
    const address = autodiscoverRequestAddress(Buffer.concat(chunks).toString('utf8'));
    const local = address === undefined ? undefined : localPartOf(address, lab.domain);
    ex.send(200, XML, autodiscoverXml(m, local !== undefined && findAccount(lab, local) ? local : undefined));
  };
  const routes: HttpRoute[] = [];
  for (const path of AUTOCONFIG_PATHS)
    routes.push({
      path,
      methods: ['GET'],
      description: path.startsWith('/.well') ? 'Thunderbird autoconfig (mail settings as XML)' : undefined,
      handler: autoconfig,
    });
  for (const path of AUTODISCOVER_PATHS)
    routes.push({
      path,
      methods: ['POST'],
      description: path === AUTODISCOVER_PATHS[0] ? 'Outlook Autodiscover (POST the POX request)' : undefined,
      handler: autodiscover,
    });
  routes.push({
    path: '/setup',
    methods: ['GET'],
    description: 'mail client setup for each student (settings, QR code, Apple profile)',
    handler: (ex) => {
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', setupIndex(lab, ex));
    },
  });
  routes.push({
    path: '/setup/',
    prefix: true,
    methods: ['GET'],
    handler: async (ex) => {
      const rest = (ex.path ?? '/setup/').slice('/setup/'.length);
      const profile = rest.endsWith('.mobileconfig');
      const account = findAccount(lab, profile ? rest.slice(0, -'.mobileconfig'.length) : rest);
      if (!account) {
        ex.sendError(404, 'no such lab account (see /setup for the list)');
        return;
      }
      const { reached, m } = settingsFor(lab, ex);
      if (profile) {
        ex.send(
          200,
          `Content-Type: application/x-apple-aspen-config\r\nContent-Disposition: attachment; filename="labnet-${account.name}.mobileconfig"\r\nCache-Control: no-store\r\n`,
          await mobileconfig(m, account.name, account.fullName, lab.caPem?.()),
        );
        return;
      }
      const url = `${reached.origin}/setup/${encodeURIComponent(account.name)}`;
      ex.send(200, 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n', await setupPage(lab, m, account, url));
    },
  });
  return routes;
}

function setupIndex(lab: LabInfo, ex: HttpExchange): string {
  const { m } = settingsFor(lab, ex);
  const list = setupAccounts(lab)
    .map(
      (a) =>
        `<li><a href="/setup/${encodeURIComponent(a.name)}">${escapeHtml(a.name)}@${escapeHtml(m.domain)}</a>${a.fullName ? ` (${escapeHtml(a.fullName)})` : ''}</li>`,
    )
    .join('\n');
  return htmlPage(
    'Mail setup',
    `<p>Pick your address for your settings, a QR code for your phone and an Apple profile.</p>\n<ul>${list || '<li>No accounts yet.</li>'}</ul>`,
  );
}

/** "IMAP, port 993, SSL/TLS" lines, as clients word them. */
export function endpointLine(e: MailEndpoint): string {
  const name = { imap: 'IMAP', pop3: 'POP3', smtp: 'SMTP' }[e.protocol];
  const security = { SSL: 'SSL/TLS (implicit TLS)', STARTTLS: 'STARTTLS', plain: 'none (plain text)' }[e.socket];
  return `${name}, port ${e.port}, security ${security}`;
}

/** The QR code of `text` as inline SVG (qrcode, generated here: no external resources). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The settings block (shared by the setup page and the printed handout). */
export function settingsHtml(m: MailSettings, name: string, withAccount = true): string {
  const rows = (list: MailEndpoint[]) => list.map((e) => `<li>${escapeHtml(endpointLine(e))}</li>`).join('');
  const account = withAccount
    ? `<tr><th>Email address</th><td><b>${escapeHtml(name)}@${escapeHtml(m.domain)}</b></td></tr>
<tr><th>Login (user name)</th><td><b>${escapeHtml(name)}</b></td></tr>
`
    : '';
  return `<table class="settings">
${account}<tr><th>Server (incoming and outgoing)</th><td><b>${escapeHtml(m.host)}</b></td></tr>
<tr><th>Incoming</th><td><ul>${rows(m.incoming) || '<li>no incoming mail service runs</li>'}</ul></td></tr>
<tr><th>Outgoing</th><td><ul>${rows(m.outgoing) || '<li>no outgoing mail service runs</li>'}</ul></td></tr>
<tr><th>Authentication</th><td>normal password</td></tr>
</table>`;
}

/** The numbered setup steps (Thunderbird, phones, anything else). */
export function stepsHtml(name: string, domain: string, origin: string): string {
  const a = `${escapeHtml(name)}@${escapeHtml(domain)}`;
  const o = escapeHtml(origin);
  return `<ol class="steps">
<li>Trust the lab certificate once: <code>${o}/ca</code> explains how.</li>
<li><b>Thunderbird</b>: New account → Existing email → your name, <b>${a}</b> and your password → Continue. It finds the settings by itself (autoconfig).</li>
<li><b>iPhone, iPad, Mac</b>: scan the QR code (or open <code>${o}/setup/${escapeHtml(encodeURIComponent(name))}</code>), download the profile, install it in Settings and type your password.</li>
<li><b>Outlook</b>: Add account → <b>${a}</b> → IMAP; Autodiscover fills in the rest.</li>
<li><b>Anything else</b> (mutt, phones, curl): type the settings above by hand.</li>
</ol>`;
}

async function setupPage(lab: LabInfo, m: MailSettings, account: SetupAccount, url: string): Promise<string> {
  const svg = await qrSvg(url);
  const origin = url.slice(0, url.indexOf('/setup/'));
  const who = account.fullName ? `${escapeHtml(account.fullName)} (${escapeHtml(account.name)})` : escapeHtml(account.name);
  return htmlPage(
    `Mail setup for ${who}`,
    `<div style="display:flex;gap:2em;align-items:flex-start"><div>${settingsHtml(m, account.name)}</div>
<figure style="margin:0;width:12em;text-align:center">${svg}<figcaption>scan with a phone</figcaption></figure></div>
<p><a href="/setup/${encodeURIComponent(account.name)}.mobileconfig"><b>Apple profile (.mobileconfig)</b></a>: mail account and lab CA for iPhone, iPad and Mac.
<a href="/.well-known/autoconfig/mail/config-v1.1.xml">Thunderbird autoconfig</a> · <a href="/ca">trust the lab CA</a></p>
<h2>Steps</h2>
${stepsHtml(account.name, m.domain, origin)}
<p>Your password is the one your instructor gave you${lab.showPasswords ? ' (also on the landing page)' : ''}.</p>`,
  );
}
