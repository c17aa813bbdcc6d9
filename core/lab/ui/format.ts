// How numbers, sizes, times and addresses are written in the lab.

export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} kB`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)} MB`;
  return `${(n / 1_000_000_000).toFixed(1)} GB`;
}

export function rate(n: number): string {
  return `${bytes(n)}/s`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 14:03:12 (local time). */
export function clock(t: number): string {
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 14:03:12.345 */
export function clockMs(t: number): string {
  return `${clock(t)}.${String(new Date(t).getMilliseconds()).padStart(3, '0')}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** +0.012 s since the start of the session. */
export function relative(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(3)} s`;
  return `+${Math.floor(ms / 60_000)} min ${((ms % 60_000) / 1000).toFixed(1)} s`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export function endpoint(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The protocol name a service is shown with. */
export function protocolName(service: string): string {
  return service.toUpperCase();
}
