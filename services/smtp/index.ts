// The SMTP service module (registered in services/index.ts).
import type { ServiceModule } from '../../core/service.js';
import { smtpConfigSchema } from './config.js';
import { SmtpService } from './smtp-service.js';

export const smtpModule: ServiceModule = {
  name: 'smtp',
  description: 'SMTP (port 25) and submission (587, AUTH required): durable delivery into the lab Maildirs',
  configSchema: smtpConfigSchema,
  serviceClass: SmtpService,
  needs: ['mailStore'],
};
