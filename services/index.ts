// The service registry: one line per service. Nothing scans directories; a service is on this list
// or it does not exist. No service imports another.
import type { ServiceModule } from '../core/service.js';
import { httpModule } from './http/index.js';
import { smtpModule } from './smtp/index.js';
import { pop3Module } from './pop3/index.js';
import { imapModule } from './imap/imap-service.js';
import { dhcpModule } from './dhcp/index.js';
import { dnsModule } from './dns/index.js';

export const serviceModules: readonly ServiceModule[] = [httpModule, smtpModule, pop3Module, imapModule, dhcpModule, dnsModule];
