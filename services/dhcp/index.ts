// The DHCP service module (RFC 2131/2132): one interface, one subnet, one pool.
import type { ServiceModule } from '../../core/service.js';
import { dhcpConfigSchema } from './config.js';
import { DhcpService } from './dhcp-service.js';

export const dhcpModule: ServiceModule = {
  name: 'dhcp',
  description: 'DHCPv4 server for the lab LAN (UDP 67), serving only the named interface',
  configSchema: dhcpConfigSchema,
  serviceClass: DhcpService,
  udpPorts: ['port'],
};
