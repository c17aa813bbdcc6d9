// The lab DNS service module: authoritative for the lab's zones on UDP and TCP port 53, REFUSED for
// everything else (never a resolver).
import type { ServiceModule } from '../../core/service.js';
import { dnsConfigSchema } from './config.js';
import { DnsService } from './dns-service.js';

export const dnsModule: ServiceModule = {
  name: 'dns',
  description: 'authoritative DNS for the lab domain (UDP and TCP 53): host, mail service discovery, DHCP clients by name',
  configSchema: dnsConfigSchema,
  serviceClass: DnsService,
};
