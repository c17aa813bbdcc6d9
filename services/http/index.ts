// The HTTP service module: the lab's web site over plain HTTP (port 80) and HTTPS (port 443), one
// handwritten HTTP/1.1 engine (core/http/) behind both listeners. See http-service.ts.
import type { ServiceModule } from '../../core/service.js';
import { httpConfigSchema, migrateHttpsSection } from './config.js';
import { HttpService } from './http-service.js';

export { httpConfigSchema, type HttpConfig } from './config.js';
export { HttpService } from './http-service.js';

export const httpModule: ServiceModule = {
  name: 'http',
  description: 'HTTP/1.1 and HTTPS web server: landing page, /healthz, /echo, /upload/, the document root and /tls, your own handshake decoded',
  configSchema: httpConfigSchema.refine((c) => !c.enabled || c.plain || c.https || c.rsaDemo, 'at least one of plain, https and rsaDemo (or enabled: false)'),
  serviceClass: HttpService,
  needs: ['tls'],
  aliases: ['https'],
  migrateConfig: migrateHttpsSection,
};
