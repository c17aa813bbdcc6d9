// `/ca.crt` (the lab CA certificate, PEM), published on every HTTP site through the shared route
// registry. The `/ca` page (how to trust it) is the site's own (core/http/pages/ca-page.ts): it prints
// the host and port the visitor reached.
import type { HttpRouteRegistry } from '../http/routes.js';

export function addCaRoutes(routes: HttpRouteRegistry, caPem: () => string): void {
  routes.add({
    path: '/ca.crt',
    methods: ['GET'],
    description: 'download the lab CA certificate (install it once, then HTTPS and mail over TLS show no warning)',
    handler: (ex) => {
      ex.send(
        200,
        'Content-Type: application/x-x509-ca-cert\r\nContent-Disposition: attachment; filename="labnet-ca.crt"\r\nCache-Control: no-cache\r\n',
        caPem(),
      );
    },
  });
}
