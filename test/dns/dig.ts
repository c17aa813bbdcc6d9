// Runs Debian's dig (bind9-dnsutils) and reads its text output into fields: status, flags, the
// sections' records, EDNS, which transport answered, whether it retried over TCP.
import { execFile } from 'node:child_process';

export interface DigRecord {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  edns?: { version: number; flags: string[]; udp: number };
  /** "UDP" or "TCP": what the final answer came over. */
  transport?: string;
  retriedOverTcp: boolean;
  size?: number;
  raw: string;
}

function section(out: string, title: string): DigRecord[] {
  const start = out.indexOf(`;; ${title} SECTION:\n`);
  if (start < 0) return [];
  const lines = out.slice(start).split('\n').slice(1);
  const rows: DigRecord[] = [];
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith(';;')) break;
    const [name, ttl, cls, type, ...rest] = line.split(/\s+/);
    rows.push({ name, ttl: Number(ttl), class: cls, type, data: rest.join(' ') });
  }
  return rows;
}

export function parseDig(out: string): DigResult {
  // With +tcp retries dig prints the truncated answer too; the last header is the final answer.
  const last = out.lastIndexOf(';; ->>HEADER<<-');
  const body = last >= 0 ? out.slice(last) : out;
  const status = /status: (\w+)/.exec(body)?.[1] ?? 'NONE';
  const flags = (/;; flags:([^;]*);/.exec(body)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const e = /; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(body);
  return {
    status,
    flags,
    answer: section(body, 'ANSWER'),
    authority: section(body, 'AUTHORITY'),
    additional: section(body, 'ADDITIONAL'),
    ...(e ? { edns: { version: Number(e[1]), flags: e[2].trim().split(/\s+/).filter(Boolean), udp: Number(e[3]) } } : {}),
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(body)?.[1],
    retriedOverTcp: out.includes('Truncated, retrying in TCP mode'),
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(body)?.[1]),
    raw: out,
  };
}

/** dig @server -p port ARGS, one try of two seconds. */
export function dig(server: string, port: number, args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server}`, '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`dig ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(parseDig(stdout));
    });
  });
}
