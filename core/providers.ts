// Core providers that only some services need (the mail store, the TLS material). The host asks for
// them by name from each service module's `needs`, so a lab running only DHCP never opens a Maildir.
import type { Container } from 'inversify';
import { MailStore } from './mail-store/index.js';
import { bindMailApi } from './mail-api/index.js';
import { FaultInjector } from './faults/index.js';
import { TOKENS } from './tokens.js';
import { TlsMaterial } from './tls/tls-material.js';
import { LabHub } from './lab/hub.js';
import type { EventBus } from './events.js';
import type { PacketCapture } from './packet/packet-capture.js';
import { attachPacketView, type PacketViewHandle } from './packet/packet-routes.js';
import { addInboxRoutes } from './lab/inbox-routes.js';
import type { HttpRouteRegistry } from './http/routes.js';
import type { MailApi } from './mail-api/mail-api.js';

export interface LifecycleProvider {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function coreProviders(container: Container, needs: ReadonlySet<string>): LifecycleProvider {
  const lifecycles: LifecycleProvider[] = [];
  if (needs.has('mailStore')) {
    // One store for SMTP, POP3 and IMAP: <dataDir>/mail/<user>/ Maildirs. Recovered at start, its
    // pending index writes flushed at stop (after the services stopped).
    container.bind(TOKENS.MailStore).to(MailStore).inSingletonScope();
    lifecycles.push({
      start: () => container.get<MailStore>(TOKENS.MailStore).start(),
      stop: () => container.get<MailStore>(TOKENS.MailStore).stop(),
    });
    // Fault rules for test suites: the mail sessions' interceptor (lab.faults, /api/v1/faults).
    container.bind(TOKENS.Faults).to(FaultInjector).inSingletonScope();
    // Reading the store back for test suites: lab.mail in process, /api/v1/ over HTTP.
    lifecycles.push(bindMailApi(container));
  }
  if (needs.has('tls')) {
    // The lab CA and server certificate (made on first start, under <dataDir>/tls).
    container.bind(TOKENS.Tls).to(TlsMaterial).inSingletonScope();
    lifecycles.push({
      start: () => container.get<TlsMaterial>(TOKENS.Tls).start(),
      stop: () => container.get<TlsMaterial>(TOKENS.Tls).stop(),
    });
  }
  if (needs.has('lab')) {
    // The live lab (/lab on HTTP and HTTPS): started after the TLS material, before the services, so it
    // sees every session from the first.
    container.bind(TOKENS.Lab).to(LabHub).inSingletonScope();
    lifecycles.push({
      start: async () => {
        await container.get<LabHub>(TOKENS.Lab).start();
        // The web inbox (/lab#/mail) reads through the MailApi when the mail store is there.
        if (container.isBound(TOKENS.MailApi))
          addInboxRoutes(container.get<HttpRouteRegistry>(TOKENS.HttpRoutes), container.get<LabHub>(TOKENS.Lab), container.get<MailApi>(TOKENS.MailApi));
      },
      stop: () => container.get<LabHub>(TOKENS.Lab).stop(),
    });
    // The packet view (/lab/api/capture, `flow` items on the stream); with the capture off it says so.
    let packetView: PacketViewHandle | undefined;
    lifecycles.push({
      start: () => {
        if (container.isBound(TOKENS.Capture)) {
          const hub = container.get<LabHub>(TOKENS.Lab);
          const routes = container.get<HttpRouteRegistry>(TOKENS.HttpRoutes);
          packetView = attachPacketView(hub, container.get<PacketCapture>(TOKENS.Capture), container.get<EventBus>(TOKENS.Events), routes);
        }
        return Promise.resolve();
      },
      stop: () => {
        packetView?.stop();
        return Promise.resolve();
      },
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
