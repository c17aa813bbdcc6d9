// tshark (Debian's Wireshark) as the oracle: decodes a capture file with `-T json -x` and flattens
// each frame's tree into fields with their value and byte position ([hex, offset, length, bitmask,
// type] from -x), so our decoder's fields can be compared one by one.
import { spawn } from 'node:child_process';

export interface TsharkField {
  name: string;
  value: string;
  offset?: number;
  length?: number;
  mask?: number;
  hex?: string;
}

/** Our fields carry absolute numbers; tshark shows the same when relative numbers are off. */
export const ORACLE_PREFS = [
  '-o',
  'ip.defragment:FALSE',
  '-o',
  'ipv6.defragment:FALSE',
  '-o',
  'tcp.desegment_tcp_streams:FALSE',
  '-o',
  'tcp.relative_sequence_numbers:FALSE',
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'tcp.analyze_sequence_numbers:TRUE',
];

export function runTshark(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('tshark', ['-n', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function isPosition(v: Json): v is [string, number, number, number, number] {
  return Array.isArray(v) && v.length === 5 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

function flatten(obj: { [k: string]: Json }, out: TsharkField[]): void {
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      flatten(v, out);
      continue;
    }
    if (Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
      for (const x of v) flatten(x as { [k: string]: Json }, out);
      continue;
    }
    // Position annotations from -x: "<field>_raw": [hex, offset, length, mask, type] (or a list of them).
    if (k.endsWith('_raw') && Array.isArray(v) && (isPosition(v) || v.every((x) => isPosition(x)))) continue;
    const values = Array.isArray(v) ? v : [v];
    const rawAnnotation = obj[`${k}_raw`];
    const positions: Array<[string, number, number, number, number] | undefined> =
      rawAnnotation === undefined ? [] : isPosition(rawAnnotation) ? [rawAnnotation] : Array.isArray(rawAnnotation) ? rawAnnotation.filter(isPosition) : [];
    values.forEach((value, i) => {
      const pos = positions[i];
      const f: TsharkField = { name: k, value: typeof value === 'object' ? JSON.stringify(value) : String(value) };
      if (pos) {
        f.hex = pos[0];
        f.offset = pos[1];
        f.length = pos[2];
        f.mask = pos[3];
      }
      out.push(f);
    });
  }
}

/** Every frame of a capture file as tshark's flat list of fields. */
export async function tsharkFields(file: string, extra: string[] = []): Promise<TsharkField[][]> {
  const r = await runTshark(['-r', file, '-T', 'json', '-x', '--no-duplicate-keys', ...ORACLE_PREFS, ...extra]);
  if (r.code !== 0) throw new Error(`tshark failed (${r.code}): ${r.stderr}`);
  const frames = JSON.parse(r.stdout) as Array<{ _source: { layers: { [k: string]: Json } } }>;
  return frames.map((f) => {
    const out: TsharkField[] = [];
    flatten(f._source.layers, out);
    return out;
  });
}

/** tshark -T fields output, one row per frame, columns in the order of `fields`. */
export async function tsharkColumns(file: string, fields: string[], extra: string[] = []): Promise<string[][]> {
  const r = await runTshark(['-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...extra, ...fields.flatMap((f) => ['-e', f])]);
  if (r.code !== 0) throw new Error(`tshark failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}
