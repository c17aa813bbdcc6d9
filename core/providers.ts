// Core providers that only some services need (the mail store, the TLS material). The host asks for
// them by name from each service module's `needs`, so a lab running only DHCP never opens a Maildir.
import type { Container } from 'inversify';
import { TOKENS } from './tokens.js';
import { TlsMaterial } from './tls/tls-material.js';

export interface LifecycleProvider {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function coreProviders(container: Container, needs: ReadonlySet<string>): LifecycleProvider {
  const lifecycles: LifecycleProvider[] = [];
  if (needs.has('tls')) {
    container.bind(TOKENS.Tls).to(TlsMaterial).inSingletonScope();
    lifecycles.push({
      start: () => container.get<TlsMaterial>(TOKENS.Tls).start(),
      stop: () => container.get<TlsMaterial>(TOKENS.Tls).stop(),
    });
  }
  return {
    async start() {
      for (const l of lifecycles) await l.start();
    },
    async stop() {
      for (const l of [...lifecycles].reverse()) await l.stop();
    },
  };
}
