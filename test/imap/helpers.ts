// Shared by the IMAP integration tests: the real labnet process with SMTP and IMAP, mail sent with
// nodemailer, and small runners for the Debian clients.
import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';

export async function startMailLab(imap: Record<string, unknown> = {}): Promise<LabProcess> {
  return startLabProcess({
    only: ['smtp', 'imap'],
    config: { services: { smtp: { port: 0, submissionPort: 0 }, imap: { port: 0, ...imap } } },
  });
}

export interface MailSpec {
  from?: string;
  to: string;
  subject: string;
  text?: string;
  html?: string;
  attachments?: Array<{ filename: string; content: string | Buffer; contentType?: string }>;
  messageId?: string;
}

/** Sends mail through labnet's SMTP port with nodemailer (a real SMTP client). */
export async function sendMail(lab: LabProcess, specs: MailSpec[]): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lab.port('smtp'), secure: false, ignoreTLS: true, pool: false });
  try {
    for (const s of specs) {
      await transport.sendMail({ from: s.from ?? 'Bob <bob@lab.test>', ...s });
    }
  } finally {
    transport.close();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with a time limit (killed by PID when it overruns). */
export function run(
  cmd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { env: { ...process.env, ...(options.env ?? {}) }, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits without reading stdin would make the write fail with EPIPE.
    proc.stdin.on('error', () => undefined);
    proc.stdin.end(options.input ?? '');
  });
}
