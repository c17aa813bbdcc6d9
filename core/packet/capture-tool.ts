// Runs the capture tool: Wireshark's dumpcap (pcapng on stdout) or tcpdump (pcap on stdout), from
// Debian, on one interface with the lab's filter. The capture is ready when the tool has written its
// file header (it has opened the interface and set the filter by then); a tool that exits first gives
// a CaptureError with a clear reason, and a missing CAP_NET_RAW says how to grant it. The tool is
// started under `setpriv --pdeathsig TERM` (util-linux) when available, so it ends with labnet even if
// labnet is killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { CaptureToolName } from './view-types.js';
export type { CaptureToolName } from './view-types.js';

export type CaptureErrorCode = 'CAPTURE_NOT_PERMITTED' | 'CAPTURE_NO_TOOL' | 'CAPTURE_NO_INTERFACE' | 'CAPTURE_BAD_FILTER' | 'CAPTURE_FAILED';

export class CaptureError extends Error {
  override name = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CaptureToolOptions {
  tool: CaptureToolName;
  interface: string;
  filter: string;
  snapLength: number;
  /** Kernel buffer in MiB. */
  bufferMiB: number;
  startTimeoutMs: number;
  /** Run the tool as this user and group (tests of the "not permitted" path). */
  uid?: number;
  gid?: number;
}

const STDERR_KEPT = 4096;
/** dumpcap reports a refused interface or filter right after "Capturing on"; silence this long means it captures. */
const STARTUP_SETTLE_MS = 500;

function findExecutable(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin']) {
    const p = `${dir}/${name}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

let pdeathsig: boolean | undefined;
/** Whether setpriv knows --pdeathsig (util-linux 2.33+). */
function havePdeathsig(): boolean {
  if (pdeathsig === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 });
    pdeathsig = r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return pdeathsig;
}

export function toolArguments(o: CaptureToolOptions): string[] {
  if (o.tool === 'tcpdump') {
    // -U: write each packet as it comes; --immediate-mode: no kernel-side batching; -n: no name lookups.
    return ['-i', o.interface, '-n', '-U', '--immediate-mode', '-s', String(o.snapLength), '-B', String(o.bufferMiB * 1024), '-w', '-', o.filter];
  }
  // dumpcap batches in the kernel ring and flushes its output a few times a second: far cheaper per frame.
  return ['-q', '-i', o.interface, '-s', String(o.snapLength), '-B', String(o.bufferMiB), '-f', o.filter, '-w', '-'];
}

/** A reason in plain words, from what the tool wrote on stderr. */
export function explainFailure(tool: CaptureToolName, iface: string, stderr: string): CaptureError {
  const text = stderr.replace(/\s+/g, ' ').trim();
  if (/permission|not permitted|EPERM/i.test(text)) {
    return new CaptureError(
      'CAPTURE_NOT_PERMITTED',
      `packet capture is not permitted: ${tool} needs the CAP_NET_RAW capability to capture on ${iface}. Run labnet as root, or give the tool ` +
        `the capability (sudo setcap cap_net_raw,cap_net_admin=eip ${findExecutable(tool) ?? tool}${tool === 'dumpcap' ? '; on Debian: sudo dpkg-reconfigure wireshark-common, then add yourself to the wireshark group' : ''}), ` +
        `or set capture.enabled: false. (${tool}: ${text.slice(0, 200)})`,
    );
  }
  if (/no (such )?device|no device named|doesn't exist|does not exist/i.test(text)) {
    return new CaptureError(
      'CAPTURE_NO_INTERFACE',
      `there is no interface "${iface}" to capture on; set capture.interface to one of this machine's interfaces (ip link). (${tool}: ${text.slice(0, 200)})`,
    );
  }
  if (/filter|syntax error/i.test(text)) return new CaptureError('CAPTURE_BAD_FILTER', `${tool} refused the capture filter: ${text.slice(0, 300)}`);
  return new CaptureError('CAPTURE_FAILED', `${tool} could not capture on ${iface}: ${text.slice(0, 300) || 'it exited without saying why'}`);
}

/** One run of the capture tool. */
export class CaptureTool {
  private proc: ChildProcess | undefined;
  private stderr = '';
  private readyResolve: (() => void) | undefined;
  private exitedEarly: ((err: CaptureError) => void) | undefined;
  private stopping = false;
  running = false;

  constructor(
    readonly options: CaptureToolOptions,
    /** Each chunk of the capture stream. */
    private readonly onData: (chunk: Buffer) => void,
    /** The tool exited while it was meant to run (not by stop()). */
    private readonly onExit: (reason: string) => void,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The tool's complaints so far (the last 4 KB). */
  get errorOutput(): string {
    return this.stderr;
  }

  /** Starts the tool; resolves once it captures (call `ready()` when its file header has arrived). */
  start(): Promise<void> {
    const o = this.options;
    const bin = findExecutable(o.tool);
    if (!bin) {
      const pkg = o.tool === 'dumpcap' ? 'wireshark-common (or tshark)' : 'tcpdump';
      return Promise.reject(
        new CaptureError('CAPTURE_NO_TOOL', `packet capture needs ${o.tool}, which is not installed: apt-get install ${pkg}, or set capture.tool`),
      );
    }
    const args = toolArguments(o);
    const [cmd, argv] = havePdeathsig() ? ['setpriv', ['--pdeathsig', 'TERM', '--', bin, ...args]] : [bin, args];
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.exitedEarly = undefined;
        this.readyResolve = undefined;
        this.kill();
        reject(
          new CaptureError(
            'CAPTURE_FAILED',
            `${o.tool} did not start capturing on ${o.interface} within ${o.startTimeoutMs} ms${this.stderr ? `: ${this.stderr.trim().slice(0, 200)}` : ''}`,
          ),
        );
      }, o.startTimeoutMs);
      this.readyResolve = () => {
        clearTimeout(timer);
        this.readyResolve = undefined;
        this.exitedEarly = undefined;
        this.running = true;
        resolve();
      };
      this.exitedEarly = (err) => {
        clearTimeout(timer);
        this.readyResolve = undefined;
        this.exitedEarly = undefined;
        reject(err);
      };
      let proc: ChildProcess;
      try {
        proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid ?? o.uid } : {}) });
      } catch (err) {
        this.exitedEarly(new CaptureError('CAPTURE_FAILED', `cannot start ${o.tool}: ${(err as Error).message}`));
        return;
      }
      this.proc = proc;
      proc.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
      proc.stderr!.on('data', (d: Buffer) => {
        this.stderr = (this.stderr + d.toString('utf8')).slice(-STDERR_KEPT);
        this.watchStartup();
      });
      proc.on('error', (err) => this.exitedEarly?.(new CaptureError('CAPTURE_FAILED', `cannot start ${o.tool}: ${err.message}`)));
      proc.on('close', (code, signal) => {
        if (this.settleTimer) clearTimeout(this.settleTimer);
        const wasRunning = this.running;
        this.running = false;
        this.proc = undefined;
        if (this.exitedEarly) {
          this.exitedEarly(explainFailure(o.tool, o.interface, this.stderr || `exit code ${code ?? signal}`));
          return;
        }
        if (!this.stopping && wasRunning) this.onExit(`${o.tool} exited (${signal ?? `code ${code}`})${this.stderr ? `: ${lastLine(this.stderr)}` : ''}`);
      });
    });
  }

  /** The capture stream's header arrived: the tool has opened the interface with the filter set. */
  ready(): void {
    this.readyResolve?.();
  }

  private settleTimer: NodeJS.Timeout | undefined;

  /**
   * What the tool says on stderr when it starts. tcpdump prints "listening on" once the interface is
   * open and the filter set. dumpcap prints "Capturing on" before it opens the interface and writes its
   * file header only with the first frames, so it counts as capturing when no complaint followed the
   * line within STARTUP_SETTLE_MS (a refused interface or filter is reported at once).
   */
  private watchStartup(): void {
    if (!this.readyResolve) return;
    if (this.options.tool === 'tcpdump') {
      if (/listening on /.test(this.stderr)) this.ready();
      return;
    }
    if (this.settleTimer === undefined && /Capturing on /.test(this.stderr)) {
      this.settleTimer = setTimeout(() => {
        this.settleTimer = undefined;
        if (this.proc && this.proc.exitCode === null && !/dumpcap: /.test(this.stderr)) this.ready();
      }, STARTUP_SETTLE_MS);
    }
  }

  /** Stops the tool (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private kill(): void {
    this.stopping = true;
    this.proc?.kill('SIGKILL');
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1].slice(0, 200);
}
