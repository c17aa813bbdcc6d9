// TlsMaterial (TOKENS.Tls): the lab CA and the server certificate, loaded (or made) once at start and
// shared by HTTPS and the mail services; the secure contexts every TLS listener uses; the ring of
// recent handshakes the tap records for the /tls page. Bound by core/providers.ts only when a
// service module `needs: ['tls']`.
import 'reflect-metadata';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { inject, injectable } from 'inversify';
import forge from 'node-forge';
import type { Logger } from 'pino';
import type { LabnetConfig } from '../config.js';
import type { EventBus } from '../events.js';
import { LabnetError } from '../errors.js';
import type { TlsUpgradeOptions } from '../connection.js';
import { TOKENS } from '../tokens.js';
import { certificateNames, loadOrCreateLabCertificates, type LabCertificates } from './lab-ca.js';
import { HandshakeLog, type HandshakeCapture } from './handshake-tap.js';
import { summarise, type DecodeOptions } from './handshake-decoder.js';
import { alpnGuard, modernContextOptions, rsaDemoContextOptions } from './tls-options.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import { addCaRoutes } from './ca-routes.js';

export interface ListenerTlsRequest {
  service: string;
  /** Listener label ('https', 'smtps'...). */
  label: string;
  /** The application protocols this listener speaks (ALPN ids), preferred first. */
  alpn: readonly string[];
  /** Record the handshake for the demo (the tap). */
  tap?: boolean;
  /** The TLS 1.2 static-RSA demo listener. */
  rsaDemo?: boolean;
  /** Tap at most this many handshakes per second (0: all); the rest run on plain node:tls. */
  tapMaxPerSecond?: number;
  handshakeTimeoutMs?: number;
}

/** What TcpServerOptions.tls takes. */
export interface ListenerTls {
  options: () => tls.TlsOptions;
  wrap?: (socket: net.Socket, options: tls.TlsOptions) => tls.TLSSocket;
  handshakeTimeoutMs?: number;
}

@injectable()
export class TlsMaterial {
  private certs?: LabCertificates;
  private modern?: tls.SecureContext;
  private rsaDemo?: tls.SecureContext;
  private forgeKey?: forge.pki.rsa.PrivateKey;
  readonly handshakes = new HandshakeLog(200);
  /**
   * Record the handshake of every TLS listener and STARTTLS upgrade, not only the /tls demo's (the
   * live lab sets it before the services start, to show each session's handshake), except a listener
   * that asks for no tap. The per-second budget of the log still applies.
   */
  tapAll = false;

  /**
   * Receives the key-log lines (SSLKEYLOGFILE format) of every TLS connection made while it is set: the
   * packet capture embeds them in its pcapng exports. Unset, no socket gets a keylog listener (OpenSSL's
   * key-log callback stays off).
   */
  keyLogSink: ((line: Buffer) => void) | undefined;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.HttpRoutes) private readonly httpRoutes: HttpRouteRegistry,
  ) {}

  async start(): Promise<void> {
    const t = this.config.tls;
    if (t.certFile && t.keyFile) {
      const certPem = readFileSync(resolve(t.certFile), 'utf8');
      const keyPem = readFileSync(resolve(t.keyFile), 'utf8');
      let names: string[];
      try {
        names = certificateNames(certPem);
      } catch (err) {
        throw new LabnetError('CONFIG_INVALID', `tls.certFile ${t.certFile} is not a PEM certificate: ${(err as Error).message}`);
      }
      // The CA stays the lab's own (made if missing) so `labnet ca export` keeps working.
      const lab = await loadOrCreateLabCertificates(this.caOptions());
      this.certs = { ca: lab.ca, server: { certPem, keyPem }, origin: 'configured', names, notCovered: [], caUnconstrained: lab.caUnconstrained };
    } else {
      this.certs = await loadOrCreateLabCertificates(this.caOptions());
    }
    try {
      this.modern = tls.createSecureContext(modernContextOptions({ key: this.certs.server.keyPem, cert: this.certs.server.certPem }));
    } catch (err) {
      throw new LabnetError('CONFIG_INVALID', `the TLS certificate or key cannot be used: ${(err as Error).message}`);
    }
    addCaRoutes(this.httpRoutes, () => this.caPem);
    this.warnAboutCa(this.certs);
    const verb = { generated: 'made', reused: 'reused', renewed: 'renewed (names changed)', configured: 'from tls.certFile' }[this.certs.origin];
    this.logger.info(
      { names: this.certs.names },
      `TLS certificate ${verb}: ${this.certs.names.slice(0, 4).join(', ')}${this.certs.names.length > 4 ? ', ...' : ''}`,
    );
  }

  async stop(): Promise<void> {}

  /** The lab CA's name constraints (lab-ca.ts): an old CA without them, names it cannot vouch for. */
  private warnAboutCa(certs: LabCertificates): void {
    const warn = (message: string): void => this.logger.warn(message);
    const dir = join(this.config.dataDir, 'tls');
    if (certs.caUnconstrained)
      warn(
        `the lab CA in ${dir} has no name constraints (made by an earlier labnet): whoever trusts it trusts any certificate it signs, for any site. It is kept because students may already trust it; to replace it with one limited to the lab's names and addresses, stop labnet, delete ${dir}/ca.crt and ca.key, start again, and have students import the new /ca.crt`,
      );
    if (certs.notCovered.length > 0)
      warn(
        `the lab CA may only vouch for the names and addresses it was made for; left out of the server certificate: ${certs.notCovered.join(', ')} (clients reaching labnet that way will not trust it; use the lab's name, or make a new CA as above)`,
      );
  }

  private caOptions() {
    return {
      dataDir: this.config.dataDir,
      hostname: this.config.hostname,
      domain: this.config.domain,
      listen: this.config.listen,
      extraNames: this.config.tls.extraNames,
      progress: (m: string) => this.logger.info(m),
    };
  }

  private get loaded(): LabCertificates {
    if (!this.certs) throw new Error('TlsMaterial used before start()');
    return this.certs;
  }

  get caPem(): string {
    return this.loaded.ca.certPem;
  }

  /** The CA certificate, or undefined before start() (pages that can do without it). */
  get caPemIfLoaded(): string | undefined {
    return this.certs?.ca.certPem;
  }

  get certPem(): string {
    return this.loaded.server.certPem;
  }

  get keyPem(): string {
    return this.loaded.server.keyPem;
  }

  get names(): readonly string[] {
    return this.loaded.names;
  }

  get origin(): LabCertificates['origin'] {
    return this.loaded.origin;
  }

  get requireTlsForAuth(): boolean {
    return this.config.tls.requireTlsForAuth;
  }

  /** Server options for a listener speaking `alpn` (modern context plus the ALPN guard). */
  serverOptions(alpn: readonly string[]): tls.TlsOptions {
    return { secureContext: this.modern!, ALPNCallback: alpnGuard(alpn) };
  }

  /** Options for Connection.upgradeTls (STARTTLS / STLS); with `tapAll`, the handshake is recorded. */
  upgradeOptions(alpn: readonly string[], service = 'starttls'): TlsUpgradeOptions {
    const options: TlsUpgradeOptions = { ...this.serverOptions(alpn), onSocket: (s) => this.watchKeys(s) };
    options.wrap = (socket, opts) => this.untapped(socket, opts, service);
    if (this.tapAll) {
      const log = this.handshakes;
      options.wrap = (socket, opts) =>
        log.admit() ? log.wrap(socket, opts, 'starttls', {}, (c) => this.publishHandshake(service, c)) : this.untapped(socket, opts, service);
    }
    return options;
  }

  /** Hands the socket's key-log lines to `keyLogSink`, when one is set. */
  private watchKeys(socket: tls.TLSSocket): tls.TLSSocket {
    const sink = this.keyLogSink;
    if (sink) socket.on('keylog', sink);
    return socket;
  }

  /** The TLS 1.2 static-RSA demo context (made on first use). */
  rsaDemoOptions(alpn: readonly string[]): tls.TlsOptions {
    if (!this.rsaDemo) {
      const key = this.keyPem;
      if (createPrivateKey(key).asymmetricKeyType !== 'rsa') throw new LabnetError('CONFIG_INVALID', 'the RSA key-exchange demo needs an RSA server key');
      this.rsaDemo = tls.createSecureContext(rsaDemoContextOptions({ key, cert: this.certPem }));
    }
    return { secureContext: this.rsaDemo, ALPNCallback: alpnGuard(alpn) };
  }

  /**
   * RSAES-PKCS1-v1_5 decryption of an encrypted pre-master secret with the server key, by node-forge:
   * Node 20 refuses PKCS#1 v1.5 decryption with a private key since CVE-2023-46809 (Marvin attack),
   * which is right for a server and exactly what a classroom demo needs to show.
   */
  rsaDecrypt(encrypted: Buffer): Buffer | undefined {
    try {
      this.forgeKey ??= forge.pki.privateKeyFromPem(this.keyPem);
      const out = this.forgeKey.decrypt(encrypted.toString('binary'), 'RSAES-PKCS1-V1_5');
      return Buffer.from(out, 'binary');
    } catch {
      return undefined;
    }
  }

  /** TcpServerOptions.tls for a listener: modern (or RSA demo) options, with the handshake tap when asked. */
  listenerTls(req: ListenerTlsRequest): ListenerTls {
    const options = req.rsaDemo ? () => this.rsaDemoOptions(req.alpn) : () => this.serverOptions(req.alpn);
    const out: ListenerTls = {
      options,
      handshakeTimeoutMs: req.handshakeTimeoutMs,
      wrap: (socket, opts) => this.watchKeys(this.untapped(socket, opts, req.service)),
    };
    // `tapAll` (the live lab) taps every listener that did not turn the tap off itself (HTTPS with
    // handshakeDemo: false stays plain node:tls).
    if (req.tap || req.rsaDemo || (this.tapAll && req.tap !== false)) {
      const decodeOptions: DecodeOptions = req.rsaDemo ? { rsaDecrypt: (b) => this.rsaDecrypt(b) } : {};
      const log = this.handshakes;
      if (req.tapMaxPerSecond !== undefined && !req.rsaDemo) log.maxPerSecond = req.tapMaxPerSecond;
      out.wrap = (socket, opts) =>
        this.watchKeys(
          req.rsaDemo || log.admit()
            ? log.wrap(socket, opts, req.label, decodeOptions, (c) => this.publishHandshake(req.service, c))
            : this.untapped(socket, opts, req.service),
        );
    }
    return out;
  }

  /**
   * A TLS socket without the handshake tap (tapping off, or over its per-second budget). When someone
   * listens for `tls` events it still tells what node:tls knows once the handshake is done (version,
   * cipher suite, ALPN, SNI, the certificate sent): a `tls` event, step 'established', with
   * `detail.untapped: true`, `detail.peer` (the client's address and port) and `detail.observed`.
   */
  private untapped(socket: net.Socket, opts: tls.TlsOptions, service: string): tls.TLSSocket {
    const secure = new tls.TLSSocket(socket, { ...opts, isServer: true });
    const peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    secure.once('secure', () => {
      if (!this.events.wants('tls')) return;
      try {
        const observed = observedHandshake(secure);
        const summary = [observed.protocol, observed.cipher].filter(Boolean).join(', ');
        this.events.publish({
          type: 'tls',
          service,
          session: `${service}-tls-untapped`,
          step: 'established',
          detail: { untapped: true, peer, summary, observed },
        });
      } catch {
        // The socket went away during the handshake's last step: nothing to tell.
      }
    });
    return secure;
  }

  /** Protocol events for each handshake step, decoded only when a subscriber wants `tls` events. */
  private publishHandshake(service: string, capture: HandshakeCapture): void {
    if (!this.events.wants('tls')) return;
    setImmediate(() => {
      const d = capture.decode();
      const session = capture.session ?? `${service}-tls-${capture.id}`;
      for (const m of d.messages) {
        this.events.publish({
          type: 'tls',
          service,
          session,
          step: m.name,
          detail: {
            from: m.from,
            bytes: m.bytes,
            t: Math.round(m.t * 100) / 100,
            encrypted: m.encrypted,
            fields: Object.fromEntries(m.fields.slice(0, 12).map((f) => [f.name, f.value])),
          },
        });
      }
      this.events.publish({ type: 'tls', service, session, step: 'established', detail: { summary: summarise(d), handshake: capture.id } });
    });
  }
}

/** What node:tls tells about a finished handshake on the server side (no secrets). */
export interface ObservedHandshake {
  protocol?: string;
  cipher?: string;
  /** The cipher suite's standard (IANA) name. */
  standardName?: string;
  alpn?: string;
  serverName?: string;
  resumed: boolean;
  certificate?: { subject: string; issuer: string; validFrom: string; validTo: string; altNames?: string; fingerprint256?: string; bits?: number };
}

function dn(x: unknown): string {
  if (!x || typeof x !== 'object') return '';
  return Object.entries(x as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ')
    .slice(0, 300);
}

function observedHandshake(secure: tls.TLSSocket): ObservedHandshake {
  const cipher = secure.getCipher();
  const cert = secure.getCertificate() as (tls.PeerCertificate & { bits?: number }) | null | Record<string, never>;
  const servername = (secure as tls.TLSSocket & { servername?: string | false }).servername;
  const out: ObservedHandshake = { resumed: secure.isSessionReused() };
  const protocol = secure.getProtocol();
  if (protocol) out.protocol = protocol.replace('TLSv', 'TLS ');
  if (cipher?.name) out.cipher = cipher.name;
  if (cipher?.standardName) out.standardName = cipher.standardName;
  if (secure.alpnProtocol) out.alpn = secure.alpnProtocol;
  if (servername) out.serverName = servername.slice(0, 253);
  if (cert && 'subject' in cert && cert.subject) {
    out.certificate = {
      subject: dn(cert.subject),
      issuer: dn(cert.issuer),
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      ...(cert.subjectaltname ? { altNames: cert.subjectaltname.slice(0, 500) } : {}),
      ...(cert.fingerprint256 ? { fingerprint256: cert.fingerprint256 } : {}),
      ...(typeof cert.bits === 'number' ? { bits: cert.bits } : {}),
    };
  }
  return out;
}
