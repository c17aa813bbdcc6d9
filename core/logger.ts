// Structured logs with pino: pretty on a terminal, JSON lines otherwise. The protocol event stream is
// logged by a subscriber (never by services printing), so the dialogue shows up at debug level.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createRequire } from 'node:module';
import type { EventBus, ProtocolEvent } from './events.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(level: LevelWithSilent, options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  if (usePretty) {
    // In-process pretty stream (a transport would start a worker thread and cost memory), loaded
    // only on a terminal.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const stream = pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', sync: true, destination: 1 });
    return pino({ level, base: undefined }, stream);
  }
  return pino({ level, base: undefined }, (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }));
}

function describe(e: ProtocolEvent): string {
  switch (e.type) {
    case 'session.open':
      return `${e.session} open from ${e.peer.address}:${e.peer.port}${e.tls ? ' (TLS)' : ''}`;
    case 'session.close':
      return `${e.session} closed (${e.reason}) in=${e.bytesIn} out=${e.bytesOut} ${e.durationMs}ms`;
    case 'command':
      return `${e.session} C: ${e.text}`;
    case 'reply':
      return `${e.session} S: ${e.text}`;
    case 'packet':
      return `${e.direction === 'in' ? '<-' : '->'} ${e.peer.address}:${e.peer.port} ${e.summary}`;
    case 'tls':
      return `${e.session} TLS ${e.step}`;
    case 'auth':
      return `${e.session} ${e.ok ? 'authenticated' : 'failed to authenticate'} as ${e.user} (${e.mechanism})`;
    case 'service.state':
      return `${e.state}${e.detail ? `: ${e.detail}` : ''}`;
    case 'notice':
      return e.message;
    case 'frame':
      return `frame ${e.frame} (${e.flow}) ${e.protocol} ${e.summary}`;
  }
}

/** Logs protocol events: the dialogue at debug, notices at their own level. */
export function logEvents(bus: EventBus, logger: Logger): void {
  const dialogue = logger.isLevelEnabled('debug');
  const types: ProtocolEvent['type'][] = ['notice'];
  if (dialogue) types.push('session.open', 'session.close', 'command', 'reply', 'packet', 'tls', 'auth');
  bus.subscribe(
    (e) => {
      const fields = { service: e.service, ...(e.session ? { session: e.session } : {}), event: e.type };
      if (e.type === 'notice') logger[e.level](fields, describe(e));
      else logger.debug(fields, describe(e));
    },
    { types },
  );
}
