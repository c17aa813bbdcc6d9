// An in-process lab on loopback for the hub-level tests: its own data directory, no defaults, silent,
// stopped and removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import type { LabnetHandle } from '../../core/host.js';

/** Starts labnet with `config` (users, instructors, services, lab...) on 127.0.0.1. */
export async function startLabFor(t: { teardown(fn: () => Promise<void> | void): void }, config: Record<string, unknown>): Promise<LabnetHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-lab-test-'));
  const handle = await startLabnet({ defaults: false, logLevel: 'silent', config: { listen: '127.0.0.1', dataDir, ...config } });
  t.teardown(async () => {
    await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return handle;
}
