// Shared set-up for the POP3 tests: an in-process lab on port 0 (transcripts) and messages delivered
// through the real mail store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { type LabnetHandle } from '../../core/host.js';
import { MailStore } from '../../core/mail-store/index.js';
import { TOKENS } from '../../core/tokens.js';

export interface Pop3Lab {
  lab: LabnetHandle;
  port: number;
  dataDir: string;
  store: MailStore;
  deliver(user: string, message: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startPop3Lab(pop3: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Pop3Lab> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-pop3-'));
  const lab = await startLabnet({
    config: { listen: '127.0.0.1', services: { pop3: { port: 0, pop3sPort: 0, ...pop3 } }, ...extra },
    dataDir,
    only: ['pop3'],
    logLevel: 'silent',
  });
  const store = lab.get<MailStore>(TOKENS.MailStore);
  return {
    lab,
    port: lab.port('pop3'),
    dataDir,
    store,
    async deliver(user, message) {
      await store.deliver(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8'), [{ user }]);
    },
    async stop() {
      await lab.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Delivers messages into a data directory before a labnet process is started on it. */
export async function preDeliver(dataDir: string, messages: ReadonlyArray<{ user: string; data: Buffer }>): Promise<void> {
  const store = new MailStore(dataDir);
  await store.start();
  for (const m of messages) await store.deliver(m.data, [{ user: m.user }]);
  await store.stop();
}

/** A small RFC 5322 message with CRLF line endings. */
export function message(subject: string, body: string): string {
  return `From: bob@lab.test\r\nTo: alice@lab.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@lab.test>\r\n\r\n${body}`;
}
