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

/**
 * At most this many dig processes at once per test process: with dozens started together, some exit 0
 * having printed nothing (seen against dnsmasq as well as labnet), which would read as "no answer".
 */
const MAX_CONCURRENT = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runDig(server: string, port: number, args: string[]): Promise<{ stdout: string; stderr: string; code: string | number }> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server}`, '-p', String(port), '+time=3', '+tries=2', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`dig ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr, code: err ? (err.code ?? err.signal ?? 'error') : 0 });
    });
  });
}

/** dig @server -p port ARGS: two tries of three seconds (a loaded machine), unless ARGS say otherwise. */
export function dig(server: string, port: number, args: string[]): Promise<DigResult> {
  return slot(async () => {
    let r = await runDig(server, port, args);
    // dig exiting 0 without its stats footer (nothing at all, or an answer cut short) is dig's failure,
    // not an answer: once more. Every query here runs with the footer on (no +short, no +nostats).
    if (r.code === 0 && !r.stdout.includes(';; SERVER:')) r = await runDig(server, port, args);
    return { ...parseDig(r.stdout), raw: `${r.stdout}${r.stderr ? `\n[stderr] ${r.stderr}` : ''}${r.code ? `\n[exit] ${r.code}` : ''}` };
  });
}
