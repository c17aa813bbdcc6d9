// The POP3 service module: registered with one line in services/index.ts.
import type { ServiceModule } from '../../core/service.js';
import { pop3ConfigSchema } from './config.js';
import { Pop3Service } from './pop3-service.js';

export const pop3Module: ServiceModule = {
  name: 'pop3',
  description: 'POP3 (RFC 1939): download and delete mail from the lab mail store',
  configSchema: pop3ConfigSchema,
  serviceClass: Pop3Service,
  needs: ['mailStore'],
};
