// The packet capture as the page knows it: the flows the viewer may see (loaded from
// /lab/api/capture, kept current by the stream's `flow` items), and per flow its frames and TCP
// ladder, fetched when a view shows that flow and refetched (only the new frames) when the stream
// says it grew. Bounded: at most MAX_FLOWS flows, MAX_FRAMES frames per flow, MAX_DETAILS frames
// decoded in full.
import type { CaptureStatusData, FlowAnswer, FlowData, FrameDetailData, FrameLine, LadderData } from './capture-types.js';
import { store } from './store.js';

const MAX_FLOWS = 500;
const MAX_FRAMES = 4000;
const MAX_DETAILS = 200;
export const API = '/lab/api/capture';

interface FlowFrames {
  frames: FrameLine[];
  ladder?: LadderData;
  /** A fetch is running; `again` asks for one more after it. */
  loading: boolean;
  again: boolean;
  error?: string;
}

export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error((await r.text()).trim() || `HTTP ${r.status}`);
  return (await r.json()) as T;
}

class CaptureState {
  status: CaptureStatusData | undefined;
  readonly flows = new Map<string, FlowData>();
  private readonly frames = new Map<string, FlowFrames>();
  private readonly details = new Map<number, FrameDetailData>();
  private readonly listeners = new Set<(flow?: string) => void>();
  loaded = false;
  error: string | undefined;
  private loading = false;

  constructor() {
    store.on((c) => {
      if (c === 'hello') {
        // A new login or a reconnection: what this viewer may see may have changed.
        this.flows.clear();
        this.frames.clear();
        this.details.clear();
        this.loaded = false;
        void this.load();
      }
    });
  }

  /** Calls `fn` when flows change; returns the unsubscribe. */
  on(fn: (flow?: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(flow?: string): void {
    for (const l of this.listeners) l(flow);
  }

  async load(): Promise<void> {
    if (this.loading || store.viewer.role === 'anonymous') return;
    this.loading = true;
    try {
      const a = await getJson<{ status: CaptureStatusData; flows: FlowData[] }>(API);
      this.status = a.status;
      for (const f of a.flows.reverse()) this.flows.set(f.id, { ...this.flows.get(f.id), ...f });
      this.trim();
      this.error = undefined;
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.loading = false;
      this.loaded = true;
      this.emit();
    }
  }

  /** A `flow` item from the stream. */
  flow(f: FlowData): void {
    this.flows.delete(f.id);
    this.flows.set(f.id, f);
    this.trim();
    if (this.frames.has(f.id)) void this.fetchFlow(f.id);
    this.emit(f.id);
  }

  private trim(): void {
    while (this.flows.size > MAX_FLOWS) {
      const oldest = this.flows.keys().next().value as string;
      this.flows.delete(oldest);
      this.frames.delete(oldest);
    }
  }

  /** Flows, most recently active first. */
  list(): FlowData[] {
    return [...this.flows.values()].sort((a, b) => b.lastTime - a.lastTime);
  }

  /** What is known of a flow's frames (starts fetching them the first time). */
  framesOf(id: string): FlowFrames {
    let f = this.frames.get(id);
    if (!f) {
      f = { frames: [], loading: false, again: false };
      this.frames.set(id, f);
      void this.fetchFlow(id);
    }
    return f;
  }

  private async fetchFlow(id: string): Promise<void> {
    const f = this.frames.get(id);
    if (!f) return;
    if (f.loading) {
      f.again = true;
      return;
    }
    f.loading = true;
    f.again = false;
    const since = f.frames.length > 0 ? f.frames[f.frames.length - 1].id : 0;
    try {
      const a = await getJson<FlowAnswer>(`${API}/flows/${encodeURIComponent(id)}${since ? `?since=${since}` : ''}`);
      const known = new Set(f.frames.map((x) => x.id));
      for (const line of a.frames) if (!known.has(line.id)) f.frames.push(line);
      if (f.frames.length > MAX_FRAMES) f.frames.splice(0, f.frames.length - MAX_FRAMES);
      f.ladder = a.ladder;
      const old = this.flows.get(id);
      this.flows.set(id, { ...a.flow, lastFrame: old?.lastFrame });
      f.error = undefined;
    } catch (err) {
      f.error = err instanceof Error ? err.message : String(err);
    } finally {
      f.loading = false;
      this.emit(id);
      if (f.again) void this.fetchFlow(id);
    }
  }

  /** One frame in full (cached). */
  async detail(id: number): Promise<FrameDetailData> {
    const known = this.details.get(id);
    if (known) return known;
    const d = await getJson<FrameDetailData>(`${API}/frames/${id}`);
    this.details.set(id, d);
    if (this.details.size > MAX_DETAILS) this.details.delete(this.details.keys().next().value as number);
    return d;
  }
}

export const capture = new CaptureState();

/** The first flow of a session (for a link from its transcript), fetched. */
export async function flowOfSession(session: string): Promise<FlowData | undefined> {
  const a = await getJson<{ flows: FlowData[] }>(`${API}/frames?session=${encodeURIComponent(session)}`);
  return a.flows[0];
}
