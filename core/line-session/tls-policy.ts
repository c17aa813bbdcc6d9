// One TLS policy for the line protocols, asked the same way by SMTP, POP3 and IMAP: is STARTTLS (STLS)
// offered to this session now, may it authenticate over what it has, and how its implicit-TLS
// listener (SMTPS, POP3S, IMAPS) is set up. Built once per service from the config and the lab's TLS
// material; sessions reach it through their base (`LineSession.startTlsOffered`, `authAllowed`).
import type { LabnetConfig } from '../config.js';
import type { TlsUpgradeOptions } from '../connection.js';
import type { ListenerTls, TlsMaterial } from '../tls/tls-material.js';

export interface TlsPolicyOptions {
  /** tls.offerStartTls: STARTTLS/STLS advertised and accepted on plain listeners. */
  offerStartTls: boolean;
  /** tls.requireTlsForAuth: no authentication over plain text (RFC 3207 section 4, RFC 2595 section 3.2). */
  requireTlsForAuth: boolean;
  /** Server options for an in-place upgrade; without them STARTTLS is never offered. */
  upgradeOptions?: () => TlsUpgradeOptions;
  /** Options for the service's implicit-TLS listener (RFC 8314 section 3.3). */
  listener?: (label: string) => ListenerTls;
}

/** What a policy looks at on a session: whether its connection is already TLS. */
export interface TlsView {
  readonly isTls: boolean;
}

export class TlsPolicy {
  constructor(readonly options: TlsPolicyOptions) {}

  /** No TLS at all (sessions built in tests, or a lab without TLS material). */
  static none(): TlsPolicy {
    return new TlsPolicy({ offerStartTls: false, requireTlsForAuth: false });
  }

  /** The mail services' policy: the config's switches and the lab certificate with the service's ALPN ids. */
  static forMail(config: LabnetConfig, material: TlsMaterial, service: string, alpn: readonly string[]): TlsPolicy {
    return new TlsPolicy({
      offerStartTls: config.tls.offerStartTls,
      requireTlsForAuth: config.tls.requireTlsForAuth,
      upgradeOptions: () => material.upgradeOptions(alpn),
      listener: (label) => material.listenerTls({ service, label, alpn }),
    });
  }

  /** STARTTLS is advertised and accepted: offered by the config, possible, and not yet done. */
  startTlsOffered(view: TlsView): boolean {
    return this.options.offerStartTls && this.options.upgradeOptions !== undefined && !view.isTls;
  }

  /** Authentication may go ahead (always over TLS; over plain text unless requireTlsForAuth). */
  authAllowed(view: TlsView): boolean {
    return view.isTls || !this.options.requireTlsForAuth;
  }

  upgradeOptions(): TlsUpgradeOptions {
    const make = this.options.upgradeOptions;
    if (make === undefined) throw new Error('no TLS material for STARTTLS');
    return make();
  }

  /** TcpServerOptions.tls for the implicit-TLS listener `label`. */
  implicitListener(label: string): ListenerTls {
    const make = this.options.listener;
    if (make === undefined) throw new Error('no TLS material for an implicit-TLS listener');
    return make(label);
  }
}
