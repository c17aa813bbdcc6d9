// `labnet watch`: the live transcripts in a terminal, for an instructor on SSH. It reads
// <dataDir>/lab/watch.json (written by the running lab, mode 0600: whoever can read the data
// directory is trusted as an instructor), follows /lab/events with that token, resumes after a
// reconnect with Last-Event-ID, and prints each line with its session, user and note. What clients
// sent is printed with control characters made visible, so nobody can drive the instructor's
// terminal with escape sequences from an EHLO name.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { commandNote, NoteContext, replyNote } from './notes.js';
import { SseParser, type SseEvent } from './sse.js';
import { decodeBatch } from './wire-codec.js';
import { lineDir, type DhcpPacketData, type HelloData, type LineData, type SessionSummary } from './wire.js';

export interface WatchOptions {
  dataDir: string;
  /** Only these services. */
  services?: string[];
  /** Only sessions of this user. */
  user?: string;
  notes: boolean;
  color: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Stop after this (tests). */
  signal?: AbortSignal;
}

interface WatchFile {
  pid: number;
  urls: string[];
  token: string;
  ca?: string;
}

const MAX_SHOWN_LINES = 12;
const PENDING_SESSIONS = 200;
const PENDING_LINES = 200;

/** Control characters (C0, DEL, C1) shown as visible escapes; tabs kept. */
export function terminalSafe(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `^${String.fromCharCode(code + 64)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

function clockMs(t: number): string {
  const d = new Date(t);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export class WatchPrinter {
  private readonly sessions = new Map<string, SessionSummary>();
  /** Lines of sessions whose user is not known yet (--user): printed once the login shows it is theirs. */
  private readonly pending = new Map<string, LineData[]>();
  /** Per session, what the notes need to remember (bounded: ended sessions are dropped). */
  private readonly notes = new Map<string, NoteContext>();

  constructor(private readonly o: Pick<WatchOptions, 'services' | 'user' | 'notes' | 'color' | 'out'>) {}

  private paint(code: string, s: string): string {
    return this.o.color ? `\u001b[${code}m${s}\u001b[0m` : s;
  }

  private write(s: string): void {
    this.o.out.write(s);
  }

  private wantsService(service: string): boolean {
    return !this.o.services || this.o.services.length === 0 || this.o.services.includes(service);
  }

  event(e: SseEvent): void {
    if (e.event === 'batch') {
      for (const [name, data] of decodeBatch(JSON.parse(e.data))) this.item(name, data);
      return;
    }
    switch (e.event) {
      case 'hello': {
        const h = JSON.parse(e.data) as HelloData;
        for (const s of h.sessions) this.sessions.set(s.id, s);
        if (h.gap) this.write(this.paint('33', `--- events ${h.gap.from}..${h.gap.to} were not kept long enough; following live again ---\n`));
        else this.write(this.paint('2', `watching ${h.overview.hostname}: ${h.sessions.length} sessions kept, live lines follow (Ctrl-C ends)\n`));
        return;
      }
      case 'resume':
        this.write(this.paint('2', '--- reconnected, nothing lost ---\n'));
        return;
      case 'bye':
        this.write(this.paint('33', `--- the lab closed the stream: ${terminalSafe((JSON.parse(e.data) as { reason?: string }).reason ?? '')} ---\n`));
        return;
      default:
        return;
    }
  }

  /** One item of a `batch`. */
  item(name: string, data: unknown): void {
    switch (name) {
      case 'session': {
        const s = data as SessionSummary;
        this.sessions.set(s.id, s);
        const waiting = this.pending.get(s.id);
        if (waiting && s.user !== undefined) {
          this.pending.delete(s.id);
          if (s.user === this.o.user) for (const l of waiting) this.printLine(l, s);
        } else if (waiting && s.closedAt !== undefined) this.pending.delete(s.id);
        return;
      }
      case 'forget':
        this.sessions.delete((data as { id: string }).id);
        return;
      case 'line': {
        const l = data as LineData;
        const s = this.sessions.get(l.session);
        if (!s || !this.wantsService(s.service) || s.lab) return;
        if (this.o.user !== undefined) {
          if (s.user === undefined) {
            if (!this.pending.has(l.session) && this.pending.size >= PENDING_SESSIONS) this.pending.delete(this.pending.keys().next().value!);
            const list = this.pending.get(l.session) ?? [];
            if (list.length < PENDING_LINES) list.push(l);
            this.pending.set(l.session, list);
            return;
          }
          if (s.user !== this.o.user) return;
        }
        this.printLine(l, s);
        return;
      }
      case 'dhcp': {
        if (!this.wantsService('dhcp') || this.o.user !== undefined) return;
        const p = data as DhcpPacketData;
        const dir = p.dir === 'in' ? this.paint('34', 'C:') : this.paint('32', 'S:');
        this.write(`${this.paint('2', clockMs(p.t))} ${this.paint('1', 'dhcp')} ${terminalSafe(p.mac)} ${dir} ${terminalSafe(p.summary)}\n`);
        if (this.o.notes) this.write(this.paint('2', `    # ${p.sentence}\n`));
        return;
      }
      default:
        return;
    }
  }

  private printLine(l: LineData, s: SessionSummary): void {
    const who = `${s.user ?? '-'}@${s.peer.address}:${s.peer.port}`;
    const prefix = `${this.paint('2', clockMs(l.t))} ${this.paint('1', s.id)} ${terminalSafe(who)} `;
    const d = lineDir(l);
    const dir = d === 'c' ? this.paint('34', 'C:') : d === 's' ? this.paint('32', 'S:') : this.paint('35', '--');
    const lines = l.text.split(/\r?\n/);
    const shown = lines.slice(0, MAX_SHOWN_LINES).map(terminalSafe);
    const enc = l.encrypted ? this.paint('35', ' [TLS]') : '';
    this.write(`${prefix}${dir} ${shown[0]}${enc}\n`);
    const pad = ' '.repeat(Math.min(40, clockMs(l.t).length + s.id.length + who.length + 3));
    for (const extra of shown.slice(1)) this.write(`${pad}   ${extra}\n`);
    if (lines.length > MAX_SHOWN_LINES) this.write(`${pad}   ${this.paint('2', `... ${lines.length - MAX_SHOWN_LINES} more lines`)}\n`);
    if (l.payload !== undefined || l.payloadLater) this.write(`${pad}   ${this.paint('2', `(payload: ${l.payloadBytes ?? l.payload?.length ?? 0} octets)`)}\n`);
    if (!this.o.notes) return;
    let note = l.note;
    if (note === undefined && (l.kind === 'command' || l.kind === 'reply')) {
      let ctx = this.notes.get(s.id);
      if (!ctx) {
        if (this.notes.size >= 1000) this.notes.delete(this.notes.keys().next().value!);
        ctx = new NoteContext(s.service);
        this.notes.set(s.id, ctx);
      }
      note = (l.kind === 'command' ? commandNote(ctx, l.text) : replyNote(ctx, l.text)) || undefined;
    }
    if (l.kind === 'close') this.notes.delete(s.id);
    if (note) this.write(this.paint('2', `${pad}   # ${note}\n`));
  }
}

export function readWatchFile(dataDir: string): WatchFile {
  const path = join(dataDir, 'lab', 'watch.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`no running lab found: ${path} does not exist (is labnet running with HTTP or HTTPS, and this its data directory?)`);
  }
  const f = JSON.parse(text) as WatchFile;
  if (!Array.isArray(f.urls) || f.urls.length === 0 || typeof f.token !== 'string') throw new Error(`${path} is not a lab watch file`);
  try {
    process.kill(f.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new Error(`the lab that wrote ${path} (pid ${f.pid}) is not running`, { cause: err });
  }
  return f;
}

/** Follows the lab until the signal aborts (or forever); reconnects with Last-Event-ID. */
export async function watchLab(o: WatchOptions): Promise<void> {
  const file = readWatchFile(o.dataDir);
  const printer = new WatchPrinter(o);
  let lastId = '';
  let delay = 500;
  const url = new URL(file.urls[0]);
  if (o.services && o.services.length > 0) url.searchParams.set('service', o.services.join(','));
  while (!o.signal?.aborted) {
    const started = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${file.token}` };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const options: https.RequestOptions = { headers, signal: o.signal };
        if (url.protocol === 'https:' && file.ca) options.ca = readFileSync(file.ca);
        const req = (url.protocol === 'https:' ? https : http).get(url, options, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`the lab answered ${res.statusCode} ${res.statusMessage ?? ''}`));
            return;
          }
          res.setEncoding('utf8');
          const parser = new SseParser((e) => {
            if (e.lastEventId) lastId = e.lastEventId;
            printer.event(e);
          });
          res.on('data', (chunk: string) => {
            try {
              parser.push(chunk);
            } catch (err) {
              req.destroy(err as Error);
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        });
        req.on('error', reject);
      });
    } catch (err) {
      if (o.signal?.aborted) break;
      o.err.write(`labnet watch: ${(err as Error).message}; retrying\n`);
    }
    if (o.signal?.aborted) break;
    delay = Date.now() - started > 10_000 ? 500 : Math.min(delay * 2, 10_000);
    await new Promise((r) => setTimeout(r, delay));
  }
}
