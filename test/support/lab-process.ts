// Starts the real `labnet start` process for integration tests: a temporary data directory, a YAML
// config on 127.0.0.1 with every port 0 (the kernel picks free ones), and the ready table parsed
// into ports. Stop it with `stop()` (SIGTERM) or `kill()` (SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { mergeConfig } from '../../core/config.js';
import { serviceModules } from '../../services/index.js';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(PROJECT_ROOT, 'build', 'labnet.js');

export interface LabProcess {
  proc: ChildProcess;
  dataDir: string;
  configPath: string;
  /** Port by "service" (main listener) or "service/listener". */
  ports: Record<string, number>;
  port(service: string, listener?: string): number;
  stdout(): string;
  stderr(): string;
  readyMs: number;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Removes the data directory (call after stop). */
  cleanup(): void;
}

export interface LabProcessOptions {
  /** Config merged over the test defaults (listen 127.0.0.1, all ports 0). */
  config?: Record<string, unknown>;
  /** Services to run (--only). */
  only?: string[];
  args?: string[];
  dataDir?: string;
  /** Keep the packaged defaults file as the base (default true: the CLI always merges it). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Writes a config file and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'labnet.test.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

export function parseReadyTable(out: string): Record<string, number> {
  const ports: Record<string, number> = {};
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('SERVICE'));
  if (start < 0) return ports;
  for (const line of lines.slice(start + 1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) break;
    const [service, listener, , portCol] = cols as [string, string, string, string];
    const port = Number.parseInt(portCol, 10);
    if (!Number.isFinite(port)) continue;
    ports[`${service}/${listener}`] = port;
    if (!(service in ports)) ports[service] = port;
  }
  return ports;
}

/**
 * The lab CA and server key of the first lab a test run starts, reused by the following fresh data
 * directories: making two RSA keys per lab start is slow on a loaded machine and tests nothing new
 * (test/tls/lab-ca.test.ts covers generation).
 */
const TLS_CACHE = join(tmpdir(), `labnet-test-tls-cache-nc-${process.getuid?.() ?? 0}`);

function seedTls(dataDir: string): void {
  if (existsSync(join(TLS_CACHE, 'ca.crt')) && existsSync(join(TLS_CACHE, 'server.key'))) cpSync(TLS_CACHE, join(dataDir, 'tls'), { recursive: true });
}

function saveTls(dataDir: string): void {
  const made = join(dataDir, 'tls');
  if (existsSync(join(TLS_CACHE, 'ca.crt')) || !existsSync(join(made, 'server.key'))) return;
  const tmp = `${TLS_CACHE}.${process.pid}.${Date.now()}`;
  try {
    cpSync(made, tmp, { recursive: true });
    renameSync(tmp, TLS_CACHE);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker saved it first
  }
}

/**
 * Every port-like key (`port`, `submissionPort`, `tlsPort`...) of every registered service set to 0,
 * so tests never collide with each other or with a lab running on the machine.
 */
export function zeroPorts(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of serviceModules) {
    const defaults = m.configSchema.parse({}) as Record<string, unknown>;
    const ports: Record<string, number> = {};
    for (const [k, v] of Object.entries(defaults)) if (/port$/i.test(k) && typeof v === 'number') ports[k] = 0;
    out[m.name] = ports;
  }
  return out;
}

export async function startLabProcess(options: LabProcessOptions = {}): Promise<LabProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'labnet-test-'));
  if (!options.dataDir) seedTls(dataDir);
  const base = {
    listen: '127.0.0.1',
    dataDir,
    limits: { shutdownGraceMs: 1000 },
    services: zeroPorts(),
  };
  const config = mergeConfig(base, options.config ?? {}) as Record<string, unknown>;
  const configPath = writeConfig(dataDir, config);
  const args = [CLI, 'start', '--config', configPath, '--log-level', 'warn'];
  if (options.only) args.push('--only', options.only.join(','));
  args.push(...(options.args ?? []));
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { cwd: dataDir, env: { ...process.env, ...(options.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the output pipes may still hold the last lines when the process has exited.
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  const ready = await new Promise<boolean>((resolvePromise) => {
    // A bound, not a timing (the start-up bench measures that): seen past 15 s at load 15.
    const timer = setTimeout(() => resolvePromise(false), options.timeoutMs ?? 45_000);
    const check = (): void => {
      // The ready line and its table arrive in one write that ends with a newline.
      if (/labnet ready[^]*\n$/.test(out)) {
        clearTimeout(timer);
        setTimeout(() => resolvePromise(true), 50);
      }
    };
    proc.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolvePromise(false);
    });
  });
  const readyMs = performance.now() - t0;
  if (!ready) {
    proc.kill('SIGKILL');
    throw new Error(`labnet did not become ready.\nstdout:\n${out}\nstderr:\n${err}`);
  }
  if (!options.dataDir) saveTls(dataDir);
  const ports = parseReadyTable(out);
  return {
    proc,
    dataDir,
    configPath,
    ports,
    readyMs,
    port(service, listener) {
      const p = ports[listener ? `${service}/${listener}` : service];
      if (p === undefined) throw new Error(`no port for ${service}${listener ? `/${listener}` : ''} in:\n${out}`);
      return p;
    },
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs the CLI to completion (bad config, taken port...) and returns its exit code and output. */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    // 'close' comes after both pipes are drained; 'exit' can come before the last of stderr is read.
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
