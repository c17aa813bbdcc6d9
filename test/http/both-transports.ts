// The HTTP suites run on both plain transports (services.http.transport raw and net): one real
// `labnet start` process per transport, started before the file's tests, and an ava macro that runs
// each test body against each of them, titled "... (raw)" and "... (net)". The raw transport reaches
// an undocumented Node binding; `net` is what a Node without it falls back to, so both must pass.
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import type { TransportKind } from '../../core/transport.js';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';

export const TRANSPORTS: readonly TransportKind[] = ['raw', 'net'];

export interface HttpLab {
  transport: TransportKind;
  lab: LabProcess;
  /** The plain HTTP port. */
  port: number;
  /** http://127.0.0.1:PORT + path */
  url: (path: string) => string;
  /** The document root. */
  www: string;
}

type Body = (t: ExecutionContext, h: HttpLab) => Promise<void>;

/**
 * Starts a lab with `services.http` = `http` (merged over port 0 and the transport) per transport,
 * runs `prepare` on each, and returns `both(title, body)`, which declares the test once per transport.
 */
export function httpLabPerTransport(http: Record<string, unknown>, prepare?: (h: HttpLab) => void | Promise<void>): (title: string, body: Body) => void {
  const labs = new Map<TransportKind, HttpLab>();
  test.before(async () => {
    await Promise.all(
      TRANSPORTS.map(async (transport) => {
        // At log level info the service says which transport its plain listener runs on.
        const lab = await startLabProcess({ only: ['http'], config: { services: { http: { ...http, transport } } }, args: ['--log-level', 'info'] });
        const port = lab.port('http');
        const said = `plain HTTP on port ${port} runs on the ${transport} transport`;
        for (let i = 0; i < 100 && !lab.stdout().includes(said); i++) await new Promise((r) => setTimeout(r, 20));
        if (!lab.stdout().includes(said)) throw new Error(`the lab did not say "${said}":\n${lab.stdout()}`);
        const h: HttpLab = { transport, lab, port, url: (p) => `http://127.0.0.1:${port}${p}`, www: join(lab.dataDir, 'www') };
        labs.set(transport, h);
        await prepare?.(h);
      }),
    );
  });
  test.after.always(async () => {
    for (const h of labs.values()) {
      await h.lab.stop();
      h.lab.cleanup();
    }
  });
  const onTransport = test.macro<[TransportKind, Body]>({
    exec: async (t, transport, body) => {
      const h = labs.get(transport);
      if (h === undefined) throw new Error(`no lab on the ${transport} transport`);
      await body(t, h);
    },
    title: (title = '', transport) => `${title} (${transport})`,
  });
  return (title, body) => {
    for (const transport of TRANSPORTS) test(title, onTransport, transport, body);
  };
}
