// A labnet for the API tests: in process, every port 0, SMTP/POP3/IMAP/HTTP, a fresh data dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startLabnet } from '../../app/labnet.js';
import type { Labnet } from '../../core/mail-api/lab-handle.js';

export interface TestLab {
  lab: Labnet;
  dataDir: string;
  /** Every log line written so far (JSON). */
  logs: string[];
  stop(): Promise<void>;
}

export const USERS = [
  { name: 'alice', password: 'alice-pw' },
  { name: 'bob', password: 'bob-pw' },
  { name: 'teacher', password: 'teacher-pw' },
];

export async function startTestLab(config: Record<string, unknown> = {}, only = ['smtp', 'pop3', 'imap', 'http']): Promise<TestLab> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-api-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const services: Record<string, unknown> = {
    smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
    pop3: { port: 0, pop3sPort: 0 },
    imap: { port: 0, imapsPort: 0 },
    http: { port: 0, httpsPort: 0 },
    https: { port: 0 },
  };
  const lab = await startLabnet({
    defaults: false,
    only,
    logger: pino({ level: 'info' }, sink),
    config: {
      listen: '127.0.0.1',
      dataDir,
      users: USERS,
      limits: { shutdownGraceMs: 500 },
      services: Object.fromEntries(only.map((s) => [s, services[s]])),
      ...config,
    },
  });
  return {
    lab,
    dataDir,
    logs,
    async stop() {
      await lab.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
