import type { ServiceStatus } from './service.js';

/** The table printed under "labnet ready": service, listener, address and port. */
export function formatReadyTable(statuses: readonly ServiceStatus[]): string {
  const rows: string[][] = [['SERVICE', 'LISTENER', 'ADDRESS', 'PORT', 'STATE']];
  for (const s of [...statuses].sort((a, b) => a.name.localeCompare(b.name))) {
    if (s.listeners.length === 0) rows.push([s.name, '-', '-', '-', s.state + (s.error ? ` (${s.error})` : '')]);
    for (const l of s.listeners) rows.push([s.name, l.name, l.address, `${l.port}/${l.protocol}${l.tls ? '+tls' : ''}`, s.state]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}
