// /healthz: every service's state as JSON, 200 when all run and 503 when one does not (what a
// monitoring check or a test suite's readiness probe wants).
import type { HttpRoute } from '../routes.js';
import type { LabInfo } from '../site.js';

export function healthzRoute(lab: LabInfo): HttpRoute {
  return {
    path: '/healthz',
    methods: ['GET'],
    description: "every service's state as JSON",
    handler: (ex) => {
      const all = lab.status();
      const healthy = all.every((s) => s.state === 'running');
      const json = {
        status: healthy ? 'ok' : 'degraded',
        uptimeSeconds: Math.round((Date.now() - lab.startedAt) / 1000),
        services: all.map((s) => ({
          name: s.name,
          state: s.state,
          listeners: s.listeners.map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, tls: Boolean(l.tls) })),
          ...(s.connections !== undefined ? { connections: s.connections } : {}),
          ...(s.error ? { error: s.error } : {}),
        })),
      };
      ex.send(healthy ? 200 : 503, 'Content-Type: application/json\r\nCache-Control: no-store\r\n', `${JSON.stringify(json, null, 2)}\n`);
    },
  };
}
