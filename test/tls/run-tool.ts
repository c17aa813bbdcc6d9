// Runs a command-line client (curl, openssl, sslscan) with optional stdin, bounded in time.
import { spawn } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(cmd: string, args: string[], options: { input?: string; timeoutMs?: number; keepStdinOpenMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.stdin.on('error', () => {});
    if (options.input !== undefined) p.stdin.write(options.input);
    if (options.keepStdinOpenMs) setTimeout(() => p.stdin.end(), options.keepStdinOpenMs).unref();
    else p.stdin.end();
    const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
  });
}
