// Printable handouts: one page per student with the address, login, password, the server settings,
// the setup steps and a QR code of the student's setup page. Made when the clear passwords exist
// (`labnet users import|add|passwd --handouts DIR`), since only hashes are stored afterwards: an HTML
// file ready to print (one student per printed page) and the same as PDF, printed by Chromium
// (playwright-core's page.pdf(), Chrome's printToPDF; `--chromium PATH`, default /usr/bin/chromium).
// The ports: when a lab runs on the same data directory (its `labnet watch` file names it and its
// process is alive), the ports it has bound, asked from its /healthz; otherwise the config's ports
// plus --port-offset, as `labnet start` would open them.
import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync, renameSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import type { LabnetConfig } from '../config.js';
import { LabnetError } from '../errors.js';
import { qrSvg, settingsHtml, stepsHtml } from '../http/pages/mail-setup.js';
import { mailSettings, type MailSettings } from '../http/pages/mail-settings.js';
import { escapeHtml } from '../http/response.js';
import { readWatchFile } from '../lab/watch.js';
import type { ListenerInfo, ServiceStatus } from '../service.js';
import type { Credential } from './index.js';
import { writeAllSync } from './roster-file.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

interface ServiceSection {
  enabled?: boolean;
  port?: number;
  [key: string]: unknown;
}

/** The mail listeners `labnet start` would open with this config (what the handout prints). */
export function configuredStatus(config: LabnetConfig, portOffset = 0): ServiceStatus[] {
  const services = (config as unknown as { services?: Record<string, ServiceSection> }).services ?? {};
  const listeners: Record<string, Array<[string, string]>> = {
    smtp: [
      ['smtp', 'port'],
      ['submission', 'submissionPort'],
      ['smtps', 'smtpsPort'],
    ],
    imap: [
      ['imap', 'port'],
      ['imaps', 'imapsPort'],
    ],
    pop3: [
      ['pop3', 'port'],
      ['pop3s', 'pop3sPort'],
    ],
    dns: [['dns', 'port']],
  };
  const out: ServiceStatus[] = [];
  for (const [name, keys] of Object.entries(listeners)) {
    const s = services[name];
    if (!s || s.enabled === false) continue;
    const ls: ListenerInfo[] = [];
    for (const [listener, key] of keys) {
      const p = s[key];
      if (typeof p === 'number' && p > 0) ls.push({ name: listener, protocol: 'tcp', address: config.listen, port: p + portOffset });
    }
    out.push({ name, state: 'running', listeners: ls });
  }
  return out;
}

/** The largest /healthz answer read from a running lab. */
const MAX_HEALTHZ_BYTES = 256 * 1024;

export interface RunningLab {
  pid: number;
  /** Its services and their bound listeners (from /healthz). */
  status: ServiceStatus[];
}

function listenersOf(value: unknown): ListenerInfo[] {
  if (!Array.isArray(value)) return [];
  const out: ListenerInfo[] = [];
  for (const l of value.slice(0, 64) as Array<Record<string, unknown>>) {
    if (typeof l?.name !== 'string' || typeof l.port !== 'number' || !Number.isInteger(l.port) || l.port < 1 || l.port > 65535) continue;
    const protocol = l.protocol === 'udp' ? 'udp' : 'tcp';
    out.push({ name: l.name, protocol, address: typeof l.address === 'string' ? l.address : '', port: l.port, tls: l.tls === true });
  }
  return out;
}

/**
 * The lab running on `dataDir`, if any: its watch file (<dataDir>/lab/watch.json, written while HTTP
 * runs) gives the address and the process, its /healthz the bound listeners. Undefined when no lab
 * runs there or it does not answer within `timeoutMs`.
 */
export async function runningLab(dataDir: string, timeoutMs = 3000): Promise<RunningLab | undefined> {
  let file: ReturnType<typeof readWatchFile>;
  try {
    file = readWatchFile(dataDir);
  } catch {
    return undefined;
  }
  const url = new URL('/healthz', file.urls[0]);
  const options: https.RequestOptions = { timeout: timeoutMs, headers: { Accept: 'application/json' } };
  if (url.protocol === 'https:' && file.ca) {
    try {
      options.ca = readFileSync(file.ca);
    } catch {
      return undefined;
    }
  }
  const body = await new Promise<string | undefined>((resolve) => {
    const req = (url.protocol === 'https:' ? https : http).get(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_HEALTHZ_BYTES) req.destroy();
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
  if (body === undefined) return undefined;
  try {
    const json = JSON.parse(body) as { services?: Array<Record<string, unknown>> };
    if (!Array.isArray(json.services)) return undefined;
    const status: ServiceStatus[] = json.services
      .slice(0, 64)
      .filter((s) => typeof s?.name === 'string')
      .map((s) => ({ name: s.name as string, state: s.state === 'running' ? 'running' : 'stopped', listeners: listenersOf(s.listeners) }));
    return { pid: file.pid, status };
  } catch {
    return undefined;
  }
}

/**
 * The mail settings a handout prints (the lab hostname: students reach it by name): the running lab's
 * listeners when `running` is given, else the config's ports plus `portOffset`.
 */
export function handoutSettings(config: LabnetConfig, portOffset = 0, running?: readonly ServiceStatus[]): MailSettings {
  const status = (): ServiceStatus[] => (running ? [...running] : configuredStatus(config, portOffset));
  return mailSettings({ status, domain: config.domain, offerStartTls: config.tls.offerStartTls }, config.hostname);
}

const STYLE = `@page{size:A4;margin:14mm}
body{font-family:sans-serif;margin:0;color:#111}
.sheet{page-break-after:always;break-after:page;padding:0 2mm}
.sheet:last-child{page-break-after:auto;break-after:auto}
h1{font-size:22pt;margin:0 0 2mm}
.who{font-size:13pt;color:#444;margin:0 0 5mm}
.top{display:flex;gap:8mm;align-items:flex-start}
.cred{font-size:15pt;border:2px solid #111;padding:3mm 5mm;margin-bottom:5mm}
.cred td{padding:1mm 3mm}.cred code{font-size:17pt;letter-spacing:.05em}
.qr{width:48mm;text-align:center;font-size:9pt;overflow-wrap:anywhere}.qr svg{width:48mm;height:48mm}
table.settings{border-collapse:collapse;font-size:11pt}table.settings th,table.settings td{border:1px solid #bbb;padding:1.5mm 3mm;text-align:left;vertical-align:top}
table.settings ul{margin:0;padding-left:5mm}
ol.steps{font-size:11pt;line-height:1.45}
.foot{font-size:9pt;color:#555;margin-top:4mm}`;

/** One HTML document, one printed page per student. `origin`: where /setup lives (http://host[:port]). */
export async function handoutHtml(
  config: LabnetConfig,
  credentials: readonly Credential[],
  origin: string,
  portOffset = 0,
  running?: readonly ServiceStatus[],
): Promise<string> {
  const m = handoutSettings(config, portOffset, running);
  const sheets: string[] = [];
  for (const c of credentials) {
    const setupUrl = `${origin}/setup/${encodeURIComponent(c.name)}`;
    const title = c.fullName ? escapeHtml(c.fullName) : escapeHtml(c.name);
    sheets.push(`<section class="sheet">
<h1>Your lab mail account</h1>
<p class="who">${title} · labnet lab ${escapeHtml(m.domain)}</p>
<div class="top"><div>
<table class="cred">
<tr><td>Address</td><td><b>${escapeHtml(c.name)}@${escapeHtml(m.domain)}</b></td></tr>
<tr><td>Login</td><td><b>${escapeHtml(c.name)}</b></td></tr>
<tr><td>Password</td><td><code>${escapeHtml(c.password)}</code></td></tr>
</table>
${settingsHtml(m, c.name, false)}
</div>
<div class="qr">${await qrSvg(setupUrl)}<div>${escapeHtml(setupUrl)}</div></div></div>
<h2>Set up your mail client</h2>
${stepsHtml(c.name, m.domain, origin)}
<p class="foot">Keep this sheet to yourself: the password is yours. Lost it? Your instructor can give you a new one.</p>
</section>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>labnet handouts (${credentials.length})</title>
<style>${STYLE}</style></head><body>
${sheets.join('\n')}
</body></html>
`;
}

/** Writes `data` to `path` atomically (temporary file, every byte checked, fsync, rename). */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Prints `html` to a PDF with Chromium (playwright-core, an optional dependency). */
export async function htmlToPdf(html: string, chromiumPath = DEFAULT_CHROMIUM): Promise<Buffer> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new LabnetError(
      'CONFIG_INVALID',
      'the PDF needs the npm package playwright-core (npm install playwright-core) and Chromium; the HTML handout is written',
    );
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] }).catch((err: Error) => {
    throw new LabnetError('CONFIG_INVALID', `Chromium (${chromiumPath}) did not start: ${err.message.split('\n')[0]}; the HTML handout is written`);
  });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}

/** Writes handouts.html and handouts.pdf into `dir`; returns their paths (pdf undefined when `pdf` is false). */
export async function writeHandouts(
  dir: string,
  config: LabnetConfig,
  credentials: readonly Credential[],
  /** `running`: the running lab's services (runningLab); without it the config's ports plus `portOffset`. */
  options: { origin: string; portOffset?: number; running?: readonly ServiceStatus[]; pdf?: boolean; chromium?: string },
): Promise<{ html: string; pdf?: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const html = await handoutHtml(config, credentials, options.origin, options.portOffset ?? 0, options.running);
  const htmlPath = join(dir, 'handouts.html');
  writeFileAtomic(htmlPath, html);
  if (options.pdf === false) return { html: htmlPath };
  const pdfPath = join(dir, 'handouts.pdf');
  writeFileAtomic(pdfPath, await htmlToPdf(html, options.chromium));
  return { html: htmlPath, pdf: pdfPath };
}
