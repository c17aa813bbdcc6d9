// The error catalogue: every error labnet raises on purpose has a stable `code`. The CLI maps codes to
// exit codes (EXIT_CODES below, documented in the README).

export type LabnetErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'DATA_DIR_UNUSABLE'
  | 'LISTEN_FAILED'
  | 'SERVICE_START_FAILED'
  | 'SERVICE_REFUSED'
  | 'UNKNOWN_SERVICE'
  // The test-suite API (core/mail-api): accounts, messages, waiting.
  | 'USER_EXISTS'
  | 'USER_INVALID'
  | 'NO_SUCH_USER'
  | 'NO_SUCH_MESSAGE'
  | 'INVALID_QUERY'
  | 'WAIT_TIMEOUT'
  | 'NO_MAIL_STORE'
  | 'NO_TLS'
  // Fault injection (core/faults): a rule that does not check, too many rules, an id taken or unknown.
  | 'FAULT_INVALID'
  | 'FAULT_LIMIT'
  | 'FAULT_EXISTS'
  | 'NO_SUCH_FAULT'
  // The class roster (core/roster, labnet users).
  | 'ROSTER_INVALID'
  | 'ROSTER_BUSY'
  | 'WRITE_FAILED';

/**
 * `labnet start` exit codes. 0: stopped by SIGINT/SIGTERM (or --help, --version). 1: an internal
 * error (a bug) or an error while shutting down. 2: the command line, the config or the data directory
 * is wrong (nothing was started). 3: one or more ports could not be bound (and nothing else failed).
 * 4: a service refused or failed to start (DHCP's safety checks, for instance).
 */
export const EXIT_CODES = { ok: 0, internal: 1, config: 2, listen: 3, service: 4 } as const;

export function exitCodeFor(code: LabnetErrorCode): number {
  switch (code) {
    case 'LISTEN_FAILED':
      return EXIT_CODES.listen;
    case 'SERVICE_START_FAILED':
    case 'SERVICE_REFUSED':
      return EXIT_CODES.service;
    default:
      return EXIT_CODES.config;
  }
}

/**
 * SERVICE_REFUSED: a service declines to start for a reason the instructor must fix (DHCP: the
 * interface is not in the subnet, another DHCP server answers); like a port that cannot be bound, it
 * stops the whole start-up with the message.
 */
export class LabnetError extends Error {
  constructor(
    readonly code: LabnetErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LabnetError';
  }
}

/** A port that cannot be bound: names the service, the port, the cause and, for EACCES, the fixes. */
export class ListenError extends LabnetError {
  constructor(
    readonly service: string,
    readonly listener: string,
    readonly address: string,
    readonly port: number,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    super('LISTEN_FAILED', ListenError.describe(service, listener, address, port, cause));
    this.name = 'ListenError';
  }

  /** "smtp (submission)" or "http". */
  get where(): string {
    return `${this.service}${this.listener !== this.service ? ` (${this.listener})` : ''}`;
  }

  /** The cause in a few words: "permission denied (EACCES)". */
  get reason(): string {
    switch (this.cause.code) {
      case 'EACCES':
        return 'permission denied (EACCES)';
      case 'EADDRINUSE':
        return 'already in use (EADDRINUSE)';
      case 'EADDRNOTAVAIL':
        return 'address not on this machine (EADDRNOTAVAIL)';
      default:
        return `${this.cause.code ?? ''} ${this.cause.message}`.trim();
    }
  }

  private static describe(service: string, listener: string, address: string, port: number, cause: NodeJS.ErrnoException): string {
    const where = `${service}${listener !== service ? ` (${listener})` : ''} cannot listen on ${address}:${port}`;
    switch (cause.code) {
      case 'EACCES':
        return `${where}: permission denied (EACCES). Ports below 1024 need privileges. Fixes: ${FIXES.EACCES.join('; or ')}.`;
      case 'EADDRINUSE':
        return `${where}: the port is already in use (EADDRINUSE). Stop the other program, change services.${service}.port, or use --port-offset.`;
      case 'EADDRNOTAVAIL':
        return `${where}: the address is not on this machine (EADDRNOTAVAIL). Check \`listen\` in the config.`;
      default:
        return `${where}: ${cause.code ?? ''} ${cause.message}`.trim();
    }
  }
}

const FIXES = {
  EACCES: [
    'run labnet as root (sudo labnet start ...)',
    'or let node bind low ports: sudo setcap cap_net_bind_service=+ep "$(readlink -f "$(which node)")"',
    'or move every TCP port up: labnet start --port-offset 10000',
  ],
  EADDRINUSE: [
    'stop the program that holds the port (`ss -ltnup` shows which)',
    'or change the port in the config (services.<name>.port, submissionPort...)',
    'or move every TCP port: labnet start --port-offset 10000',
  ],
  EADDRNOTAVAIL: ['set `listen` in the config to an address of this machine (0.0.0.0: all of them)'],
} as const;

/** One service that did not start: a ListenError, a LabnetError it raised on purpose, or a bug. */
export interface StartFailure {
  service: string;
  error: Error;
}

/**
 * Start-up failed: every failure of every service, gathered into one message (one block the
 * instructor can act on, not one stack trace per port). LISTEN_FAILED when only ports failed.
 */
export class StartupError extends LabnetError {
  constructor(readonly failures: readonly StartFailure[]) {
    super(failures.every((f) => f.error instanceof ListenError) ? 'LISTEN_FAILED' : 'SERVICE_START_FAILED', StartupError.describe(failures));
    this.name = 'StartupError';
  }

  /** Every port that could not be bound. */
  get listenErrors(): ListenError[] {
    return this.failures.map((f) => f.error).filter((e): e is ListenError => e instanceof ListenError);
  }

  private static describe(failures: readonly StartFailure[]): string {
    const listen = failures.map((f) => f.error).filter((e): e is ListenError => e instanceof ListenError);
    const others = failures.filter((f) => !(f.error instanceof ListenError));
    const lines: string[] = [];
    const parts = [
      listen.length ? `${listen.length} port${listen.length === 1 ? '' : 's'} could not be bound` : '',
      others.length ? `${others.length} service${others.length === 1 ? '' : 's'} failed` : '',
    ].filter(Boolean);
    lines.push(`could not start: ${parts.join(', ')}; nothing is running.`);
    if (listen.length) {
      const rows = [...listen]
        .sort((a, b) => a.port - b.port)
        .map((e) => [e.where, `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`, e.reason]);
      const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) lines.push(`  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`);
      const codes = new Set(listen.map((e) => e.cause.code));
      for (const code of ['EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL'] as const) {
        if (!codes.has(code)) continue;
        const which = [...new Set(listen.filter((e) => e.cause.code === code).map((e) => e.port))].sort((a, b) => a - b);
        const heading =
          code === 'EACCES'
            ? `Ports below 1024 (${which.join(', ')}) need privileges. Fix it one of these ways:`
            : code === 'EADDRINUSE'
              ? `Another program already listens on ${which.join(', ')}. Fix it one of these ways:`
              : 'The listen address is not on this machine:';
        lines.push(heading);
        for (const fix of FIXES[code]) lines.push(`  - ${fix.replace(/^or /, '')}`);
        if (code === 'EACCES') lines.push(`    (then ${which.map((p) => `${p} is ${p + 10000}`).join(', ')})`);
      }
    }
    for (const f of others) lines.push(`  ${f.service}: ${f.error.message}`);
    return lines.join('\n');
  }
}
