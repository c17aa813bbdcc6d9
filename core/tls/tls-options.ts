// Modern TLS settings shared by every labnet TLS listener: TLS 1.2 and 1.3 only, AEAD suites with
// forward secrecy (no RC4, 3DES, CBC or static RSA; RFC 9325 §4.2), and an ALPN guard: a listener
// that knows its protocol refuses a client that asks for another one (ALPACA: one certificate serves
// HTTPS and mail, so a request must not be redirected across protocols; RFC 7301 §3.2 alert).
import type * as tls from 'node:tls';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'].join(':');

/** The RSA key-exchange demo: TLS 1.2 only, static RSA with AES-GCM (no forward secrecy, on purpose). */
export const RSA_DEMO_CIPHERS = ['AES128-GCM-SHA256', 'AES256-GCM-SHA384'].join(':');

export const ECDH_CURVES = 'X25519:P-256:P-384';

export interface ContextSettings {
  key: string;
  cert: string;
}

export function modernContextOptions(m: ContextSettings): tls.SecureContextOptions {
  return {
    key: m.key,
    cert: m.cert,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: `${TLS13_SUITES}:${TLS12_CIPHERS}`,
    ecdhCurve: ECDH_CURVES,
    honorCipherOrder: true,
  };
}

export function rsaDemoContextOptions(m: ContextSettings): tls.SecureContextOptions {
  return {
    key: m.key,
    cert: m.cert,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ciphers: RSA_DEMO_CIPHERS,
    honorCipherOrder: true,
  };
}

/**
 * The ALPN guard for a listener whose protocols are `own` (first preferred). A client that sends no
 * ALPN is served; one that offers none of `own` gets a fatal no_application_protocol alert.
 */
export function alpnGuard(own: readonly string[]): (arg: { servername: string; protocols: string[] }) => string | undefined {
  return ({ protocols }) => own.find((p) => protocols.includes(p));
}
