// The error catalogue: every error labnet raises on purpose has a stable `code`.

export type LabnetErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
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
  | 'NO_TLS';

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

  private static describe(service: string, listener: string, address: string, port: number, cause: NodeJS.ErrnoException): string {
    const where = `${service}${listener !== service ? ` (${listener})` : ''} cannot listen on ${address}:${port}`;
    switch (cause.code) {
      case 'EACCES':
        return (
          `${where}: permission denied (EACCES). Ports below 1024 need privileges. Fixes: run as root, ` +
          `or allow node to bind low ports with \`sudo setcap cap_net_bind_service=+ep $(readlink -f $(which node))\`, ` +
          `or move every port up with \`--port-offset 10000\`.`
        );
      case 'EADDRINUSE':
        return `${where}: the port is already in use (EADDRINUSE). Stop the other program, change services.${service}.port, or use --port-offset.`;
      case 'EADDRNOTAVAIL':
        return `${where}: the address is not on this machine (EADDRNOTAVAIL). Check \`listen\` in the config.`;
      default:
        return `${where}: ${cause.code ?? ''} ${cause.message}`.trim();
    }
  }
}
