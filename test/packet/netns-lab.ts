// A whole labnet (HTTP, HTTPS, SMTP, IMAP, DHCP, with the packet capture on) in the server namespace of
// a NetnsFixture, serving the bridge: the real `labnet start` process, with real clients in the client
// namespace. For the packet tests (root only).
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { mergeConfig } from '../../core/config.js';
import { NetnsFixture, sleep, waitFor } from '../dhcp/netns-fixture.js';
import { CLI, parseReadyTable } from '../support/lab-process.js';

export interface NetnsLab {
  pid: number;
  ports: Record<string, number>;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

export const USERS = [
  { name: 'alice', password: 'alice-pw' },
  { name: 'bob', password: 'bob-pw' },
];

/** Starts labnet in the server namespace; resolves once it printed its ready table. */
export async function startNetnsLab(fx: NetnsFixture, config: Record<string, unknown> = {}, only = 'http,smtp,imap,dhcp'): Promise<NetnsLab> {
  const dataDir = join(fx.dir, 'data');
  const cache = join(tmpdir(), `labnet-test-tls-cache-nc-${process.getuid?.() ?? 0}`);
  if (existsSync(join(cache, 'ca.crt'))) cpSync(cache, join(dataDir, 'tls'), { recursive: true });
  const base = {
    dataDir,
    listen: '0.0.0.0',
    users: USERS,
    instructors: ['alice'],
    limits: { shutdownGraceMs: 1000 },
    services: {
      http: { port: 0, httpsPort: 0 },
      smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
      imap: { port: 0, imapsPort: 0 },
      dhcp: { interface: fx.bridge, probeMs: 300, subnet: `${fx.prefix}.0/24`, range: [`${fx.prefix}.100`, `${fx.prefix}.140`], leaseSeconds: 600 },
    },
    capture: { enabled: true },
  };
  const path = join(fx.dir, 'labnet-packet.yaml');
  writeFileSync(path, stringify(mergeConfig(base, config)));
  const proc = fx.spawnIn(fx.serverNs, [process.execPath, CLI, 'start', '--only', only, '--config', path, '--log-level', 'debug']);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const ready = await waitFor(() => /labnet ready[^]*\n$/.test(out) || proc.exitCode !== null, 60_000);
  if (!ready || proc.exitCode !== null) {
    proc.kill('SIGKILL');
    throw new Error(`labnet did not become ready (exit ${proc.exitCode}).\nstdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-4000)}`);
  }
  return {
    pid: proc.pid!,
    ports: parseReadyTable(out),
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        proc.kill('SIGKILL');
        return exited;
      }
      return code;
    },
  };
}
