// A LabHub in-process without services, listeners or a data directory: only the event bus it
// records from, an empty status board and silent logging. For the property tests and the
// recording bench, which publish events straight into the bus.
import 'reflect-metadata';
import type { Logger } from 'pino';
import { Accounts } from '../../core/auth.js';
import type { LabnetConfig } from '../../core/config.js';
import { EventBus } from '../../core/events.js';
import { HttpRouteRegistry } from '../../core/http/routes.js';
import { LabHub } from '../../core/lab/hub.js';
import { StatusBoard } from '../../core/status-board.js';

/** The hub's history bounds; no recording budget (linesPerSecond 0). */
export interface BareHistory {
  sessions: number;
  linesPerSession: number;
  replayEvents: number;
  maxBytes: number;
  maxBytesPerSession: number;
  dhcpPackets: number;
}

/** A hub (not started: call `hub.start()`) and its bus. */
export function bareHub(history: BareHistory, maxStreams: number): { hub: LabHub; events: EventBus } {
  const config = {
    hostname: 'bare',
    dataDir: '',
    users: [],
    instructors: [],
    lab: { enabled: true, history: { ...history, linesPerSecond: 0 }, maxStreams, loginFailuresPerMinute: 10 },
  } as unknown as LabnetConfig;
  const events = new EventBus();
  const board = new StatusBoard();
  board.setSource(() => []);
  const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;
  const hub = new LabHub(config, events, board, new HttpRouteRegistry(), new Accounts(config), { now: () => Date.now() }, silent, undefined);
  return { hub, events };
}
