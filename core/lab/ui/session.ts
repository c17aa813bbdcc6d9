// One session: the live transcript (client and server lines as sent, relative times, long payloads
// folded, the switch to TLS marked and later lines badged, a note beside each line), the TLS handshake
// ladder, and for HTTP the requests it carried.
import { commandNote, NoteContext, replyNote } from '../notes.js';
import type { HandshakeData, LineData, SessionSummary } from '../wire.js';
import { h, replace } from './dom.js';
import { bytes, clock, duration, endpoint, relative } from './format.js';
import { fieldTable, ladder } from './ladder.js';
import { sessionFramesLink } from './packet-links.js';
import { navigate } from './router.js';
import { stateBadge, tlsBadge, loginFirst } from './sessions.js';
import { store } from './store.js';

const FOLD_LINES = 6;
const FOLD_CHARS = 600;
const SHOWN_WHEN_FOLDED = 3;

async function getJson<T>(url: string): Promise<{ ok: true; value: T } | { ok: false; status: number; text: string }> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!res.ok) return { ok: false, status: res.status, text: (await res.text()).slice(0, 300) };
  return { ok: true, value: (await res.json()) as T };
}

/** Loads the kept transcript once (the stream brings everything after it). */
export function ensureTranscript(id: string): void {
  if (store.loaded.has(id) || loading.has(id)) return;
  loading.add(id);
  void getJson<import('../wire.js').TranscriptData>(`/lab/api/sessions/${encodeURIComponent(id)}`)
    .then((r) => {
      if (r.ok) store.transcript(r.value);
    })
    .finally(() => loading.delete(id));
}
const loading = new Set<string>();

function whoLabel(l: LineData): string {
  return l.dir === 'c' ? 'C:' : l.dir === 's' ? 'S:' : '';
}

/** The text of a line, folded when long. */
function lineText(l: LineData): HTMLElement {
  const text = l.text;
  const lines = text.split(/\r?\n/);
  const long = lines.length > FOLD_LINES || text.length > FOLD_CHARS;
  const pre = h('pre', { class: 'text' });
  if (!long) {
    pre.textContent = text;
  } else {
    const head = lines.length > FOLD_LINES ? lines.slice(0, SHOWN_WHEN_FOLDED).join('\n') : text.slice(0, FOLD_CHARS);
    pre.textContent = head;
    const more = h(
      'button',
      { type: 'button', class: 'fold', aria: { expanded: 'false' } },
      `… ${lines.length > FOLD_LINES ? `${lines.length - SHOWN_WHEN_FOLDED} more lines, ` : ''}${bytes(l.bytes ?? text.length)} in all: show`,
    );
    more.addEventListener('click', () => {
      const open = more.getAttribute('aria-expanded') === 'true';
      pre.textContent = open ? head : text;
      more.setAttribute('aria-expanded', String(!open));
      more.textContent = open
        ? `… ${lines.length > FOLD_LINES ? `${lines.length - SHOWN_WHEN_FOLDED} more lines, ` : ''}${bytes(l.bytes ?? text.length)} in all: show`
        : 'fold';
    });
    return h('div', { class: 'folded' }, pre, more);
  }
  return pre;
}

/**
 * What came with a line, folded: an HTTP request's or response's header fields, or a mail message
 * (its header section and the start of its body, with how much more there was).
 */
function payloadBox(l: LineData, service: string): HTMLElement | null {
  if (l.payload === undefined && l.payloadLater !== true) return null;
  const web = service === 'http' || service === 'https';
  // IMAP's payload names each literal and says itself how much was cut (a FETCH can carry several).
  const imap = service === 'imap' || service === 'imaps';
  // A long payload is not on the stream: it is fetched from the transcript the first time it is unfolded.
  let shown = l.payload;
  const size = web ? (shown?.length ?? l.payloadBytes ?? 0) : (l.payloadBytes ?? shown?.length ?? 0);
  const label = web
    ? shown !== undefined
      ? `header fields (${shown.split('\r\n').filter((x) => x !== '').length})`
      : 'header fields'
    : `${imap ? 'message data' : 'message'}: ${bytes(size)}`;
  const pre = h('pre', { class: 'payload' });
  const btn = h('button', { type: 'button', class: 'fold', aria: { expanded: 'false' } }, `${label}: show`);
  const fill = (text: string): void => {
    pre.textContent = text + (!web && !imap && size > text.length ? `\n… (${bytes(size - text.length)} more of the body not kept)` : '');
  };
  btn.addEventListener('click', () => {
    const open = btn.getAttribute('aria-expanded') === 'true';
    btn.setAttribute('aria-expanded', String(!open));
    btn.textContent = `${label}: ${open ? 'show' : 'fold'}`;
    if (open) {
      pre.textContent = '';
      return;
    }
    if (shown !== undefined) {
      fill(shown);
      return;
    }
    pre.textContent = 'loading…';
    void getJson<{ payload: string }>(`/lab/api/sessions/${encodeURIComponent(l.session)}/lines/${l.seq}/payload`).then((r) => {
      if (btn.getAttribute('aria-expanded') !== 'true') return;
      if (r.ok) {
        shown = r.value.payload;
        fill(shown);
      } else pre.textContent = r.status === 404 ? '(no longer kept: the lab keeps a bounded part of each session)' : `(could not load it: ${r.text})`;
    });
  });
  return h('div', { class: 'payload-box' }, btn, pre);
}

/** The note beside a line: the hub's for its own lines, worked out here for what client and server sent. */
function noteFor(ctx: NoteContext, l: LineData): string | undefined {
  if (l.note !== undefined) return l.note;
  if (l.kind === 'command') return commandNote(ctx, l.text) || undefined;
  if (l.kind === 'reply') return replyNote(ctx, l.text) || undefined;
  return undefined;
}

export function lineRow(l: LineData, s: SessionSummary, note = l.note): HTMLElement {
  if (l.dir === 'm') {
    return h(
      'div',
      { class: `line meta kind-${l.kind}`, data: { seq: String(l.seq) } },
      h('span', { class: 't' }, relative(l.t - s.openedAt)),
      h(
        'div',
        { class: 'body' },
        l.kind === 'tls' ? h('span', { class: 'badge tls marker' }, 'TLS') : null,
        h('span', { class: 'meta-text' }, l.text),
        l.handshake ? h('a', { class: 'meta-link', href: `#/session/${s.id}/tls` }, 'open the handshake') : null,
      ),
      note ? h('p', { class: 'note' }, note) : null,
    );
  }
  return h(
    'div',
    { class: `line dir-${l.dir} kind-${l.kind}${l.encrypted ? ' encrypted' : ''}`, data: { seq: String(l.seq) } },
    h('span', { class: 't', title: clock(l.t) }, relative(l.t - s.openedAt)),
    h('span', { class: 'who', title: l.dir === 'c' ? 'sent by the client' : 'sent by the server' }, whoLabel(l)),
    h(
      'div',
      { class: 'body' },
      lineText(l),
      l.cut ? h('span', { class: 'muted cut' }, `(${l.cut} more characters not kept)`) : null,
      payloadBox(l, s.service),
      l.request ? h('span', { class: 'req-time' }, `${l.request.method} ${l.request.path} took ${l.request.ms} ms`) : null,
    ),
    h('span', { class: 'badges' }, l.encrypted ? h('span', { class: 'badge enc', title: 'this line travelled encrypted (TLS)' }, 'encrypted') : null),
    note ? h('p', { class: 'note' }, note) : null,
  );
}

export interface SessionViewHandle {
  el: HTMLElement;
  /** New lines or a new summary for this session. */
  update(): void;
}

function header(s: SessionSummary, tab: string): HTMLElement {
  const instructor = store.viewer.role === 'instructor';
  const pinned = store.pinned === s.id;
  const tabs: Array<[string, string, boolean]> = [
    ['', 'Transcript', true],
    ['tls', 'TLS handshake', s.tls !== 'none' || s.handshake],
    ['requests', 'Requests', s.service === 'http' || s.service === 'https'],
  ];
  return h(
    'div',
    { class: 'session-head' },
    h(
      'div',
      { class: 'session-title' },
      h('a', { href: '#/sessions', class: 'back', title: 'all sessions' }, '←'),
      h('h2', null, h('span', { class: `proto-tag p-${s.service}` }, s.service.toUpperCase()), ` ${s.id}`),
      tlsBadge(s),
      stateBadge(s),
      sessionFramesLink(s.id),
      instructor
        ? h(
            'button',
            {
              type: 'button',
              class: `tool pin${pinned ? ' active' : ''}`,
              aria: { pressed: String(pinned) },
              onclick: () => void pin(pinned ? null : s.id),
            },
            pinned ? 'Unpin from projector' : 'Pin to projector',
          )
        : null,
    ),
    h(
      'dl',
      { class: 'session-facts' },
      h('div', null, h('dt', null, 'client'), h('dd', { class: 'mono' }, endpoint(s.peer))),
      h('div', null, h('dt', null, 'server'), h('dd', { class: 'mono' }, `${endpoint(s.local)}${s.listener ? ` (${s.listener})` : ''}`)),
      h('div', null, h('dt', null, 'user'), h('dd', null, s.user ?? (s.authFailures > 0 ? `not logged in (${s.authFailures} failed)` : 'not logged in'))),
      h('div', null, h('dt', null, 'started'), h('dd', null, clock(s.openedAt))),
      h('div', null, h('dt', null, 'duration'), h('dd', null, duration((s.closedAt ?? Date.now()) - s.openedAt))),
      h('div', null, h('dt', null, 'in / out'), h('dd', null, `${bytes(s.bytesIn)} / ${bytes(s.bytesOut)}`)),
      s.tlsSummary ? h('div', null, h('dt', null, 'TLS'), h('dd', null, s.tlsSummary)) : null,
    ),
    h(
      'nav',
      { class: 'subtabs', aria: { label: 'Session views' } },
      tabs
        .filter((t) => t[2])
        .map(([key, label]) =>
          h('a', { href: `#/session/${s.id}${key ? `/${key}` : ''}`, class: tab === key ? 'active' : '', aria: tab === key ? { current: 'page' } : {} }, label),
        ),
    ),
  );
}

async function pin(id: string | null): Promise<void> {
  await fetch('/lab/api/pin', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ session: id }),
  });
}

/** The transcript, drawn once and then appended to as lines arrive. */
export function transcriptView(id: string, options: { projector?: boolean } = {}): SessionViewHandle {
  const el = h('section', { class: `view session${options.projector ? ' projector' : ''}` });
  if (store.viewer.role === 'anonymous') {
    el.append(loginFirst('this session'));
    return { el, update() {} };
  }
  let lastSeq = -1;
  let drawnHead: string | undefined;
  let firstDraw = true;
  let notes = new NoteContext('');
  const headBox = h('div');
  const list = h('div', { class: 'transcript', role: 'log', aria: { live: 'polite', label: 'transcript' } });
  const gapNote = h('div');
  el.append(headBox, gapNote, list);
  const draw = (): void => {
    const s = store.sessions.get(id);
    if (!s) {
      replace(headBox, h('p', { class: 'empty' }, 'This session is not (or no longer) one you can see.'), h('a', { href: '#/sessions' }, 'All sessions'));
      replace(list);
      lastSeq = -1;
      return;
    }
    ensureTranscript(id);
    const key = JSON.stringify([s.user, s.tls, s.handshake, s.closedAt, store.pinned === id, Math.floor(Date.now() / 1000)]);
    if (key !== drawnHead) {
      drawnHead = key;
      replace(headBox, options.projector ? projectorHead(s) : header(s, ''));
    }
    const lines = store.lines.get(id) ?? [];
    // Follow the newest line while the reader is at the bottom of a live session (never on first sight).
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    const follow = !firstDraw && atBottom && s.closedAt === undefined && lines.length > 0 && lines[lines.length - 1].seq > lastSeq;
    if (
      lines.length > 0 &&
      lines[0].seq <= lastSeq &&
      list.childElementCount > 0 &&
      lines[lines.length - 1].seq >= lastSeq &&
      isAppendOnly(list, lines, lastSeq)
    ) {
      for (const l of lines) if (l.seq > lastSeq) list.append(lineRow(l, s, noteFor(notes, l)));
    } else {
      // The notes follow the dialogue (the last command, IMAP tags): worked out again from the start.
      notes = new NoteContext(s.service);
      replace(
        list,
        lines.map((l) => lineRow(l, s, noteFor(notes, l))),
      );
    }
    lastSeq = lines.length > 0 ? lines[lines.length - 1].seq : -1;
    if (lines.length === 0) replace(list, h('p', { class: 'empty' }, 'Nothing yet: lines appear here as they are sent.'));
    // Lines sent before this viewer could see the session (before the login) come with the kept
    // transcript, which may arrive after the newest live lines: say so until it is merged.
    const loaded = store.loaded.has(id);
    list.dataset.loaded = String(loaded);
    replace(
      gapNote,
      store.gapAt ? h('p', { class: 'gap-note' }, 'The live stream skipped events while this browser was away; the transcript was reloaded.') : null,
      loaded || lines.length === 0 ? null : h('p', { class: 'muted loading-note' }, 'Loading the earlier lines of this session…'),
    );
    if (follow || (options.projector && lines.length > 0)) window.scrollTo({ top: document.body.scrollHeight });
    firstDraw = false;
  };
  draw();
  return { el, update: draw };
}

/** Whether every line before `lastSeq` is already drawn in order (then new ones can be appended). */
function isAppendOnly(list: HTMLElement, lines: LineData[], lastSeq: number): boolean {
  const drawn = list.querySelectorAll('.line').length;
  let before = 0;
  for (const l of lines) if (l.seq <= lastSeq) before++;
  return drawn === before;
}

function projectorHead(s: SessionSummary): HTMLElement {
  return h(
    'div',
    { class: 'session-head' },
    h(
      'div',
      { class: 'session-title' },
      h('h2', null, h('span', { class: `proto-tag p-${s.service}` }, s.service.toUpperCase()), ` ${s.user ?? endpoint(s.peer)}`),
      tlsBadge(s),
      stateBadge(s),
    ),
  );
}

export function tlsView(id: string): SessionViewHandle {
  const el = h('section', { class: 'view session' });
  const s = store.sessions.get(id);
  if (!s) {
    el.append(h('p', { class: 'empty' }, 'This session is not (or no longer) one you can see.'));
    return { el, update() {} };
  }
  const body = h('div', { class: 'tls-body' }, h('p', { class: 'muted' }, 'Decoding the handshake…'));
  el.append(header(s, 'tls'), body);
  const open = new Set<string>();
  void getJson<HandshakeData>(`/lab/api/sessions/${encodeURIComponent(id)}/tls`).then((r) => {
    if (!r.ok) {
      replace(
        body,
        h(
          'p',
          { class: 'empty' },
          s.tls === 'none'
            ? 'This session never used TLS: everything in its transcript crossed the network as plain text.'
            : `No handshake was recorded for this session (${r.text.replace(/^\d+ [A-Za-z ]+: /, '').trim()}).`,
        ),
      );
      return;
    }
    const d = r.value;
    const facts = [d.version, d.suite, d.group, d.alpn ? `ALPN ${d.alpn}` : '', d.serverName ? `SNI ${d.serverName}` : '', d.resumed ? 'resumed' : '']
      .filter(Boolean)
      .join(' · ');
    if (d.messages.length === 0 && d.observed) {
      // Not tapped: no ladder, but what node:tls reported about the finished handshake.
      replace(
        body,
        h('p', { class: 'summary' }, facts || 'TLS'),
        ...d.notes.map((n) => h('p', { class: 'muted untapped-note' }, n)),
        fieldTable(
          ['what', 'value'],
          d.observed.map((f) => [h('b', null, f.name), h('span', { class: 'mono' }, f.value)]),
          'observed',
        ),
      );
      return;
    }
    replace(
      body,
      h('p', { class: 'summary' }, facts || 'handshake'),
      h(
        'p',
        { class: 'muted' },
        `${bytes(d.bytes.client)} from the client, ${bytes(d.bytes.server)} from the server during the handshake. Click a message to see its fields.`,
      ),
      ladder(
        { client: `client ${endpoint(s.peer)}`, server: `server ${endpoint(s.local)}` },
        d.messages.map((m, i) => ({
          key: String(i),
          from: m.from,
          label: m.name,
          sub: `${m.t.toFixed(1)} ms · ${bytes(m.bytes)}`,
          badges: [m.encrypted ? h('span', { class: 'badge enc' }, m.decrypted ? 'encrypted (opened)' : 'encrypted') : null],
          className: m.encrypted ? 'is-encrypted' : '',
          details: () =>
            h(
              'div',
              null,
              h('p', { class: 'explain' }, m.explain),
              m.error ? h('p', { class: 'error' }, m.error) : null,
              m.fields.length > 0
                ? fieldTable(
                    ['field', 'value'],
                    m.fields.map((f) => [f.name, h('span', { class: 'mono' }, f.value)]),
                  )
                : null,
            ),
        })),
        open,
      ),
      d.notes.length > 0
        ? h(
            'ul',
            { class: 'notes' },
            d.notes.map((n) => h('li', null, n)),
          )
        : null,
    );
  });
  return { el, update() {} };
}

export function requestsView(id: string): SessionViewHandle {
  const el = h('section', { class: 'view session' });
  const draw = (): void => {
    const s = store.sessions.get(id);
    if (!s) {
      replace(el, h('p', { class: 'empty' }, 'This session is not (or no longer) one you can see.'));
      return;
    }
    ensureTranscript(id);
    const reqs = (store.lines.get(id) ?? []).filter((l) => l.request);
    replace(el, header(s, 'requests'), requestTable(reqs.map((l) => ({ line: l, session: s }))));
  };
  draw();
  return { el, update: draw };
}

export function requestTable(rows: Array<{ line: LineData; session: Pick<SessionSummary, 'id' | 'peer' | 'service'> }>): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No requests yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list requests' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['time', 'method', 'path', 'status', 'size', 'took', ''].map((c) => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map(({ line, session }) => {
          const status = /^HTTP\/\d\.\d (\d{3})/.exec(line.text)?.[1] ?? '?';
          return h(
            'tr',
            { class: `row status-${status[0]}xx`, data: { seq: String(line.seq) } },
            h('td', { class: 'num' }, clock(line.t)),
            h('td', null, h('b', null, line.request!.method)),
            h('td', { class: 'mono path' }, line.request!.path),
            h('td', null, h('span', { class: `status s${status[0]}` }, line.text.replace(/^HTTP\/\d\.\d /, ''))),
            h('td', { class: 'num' }, line.bytes !== undefined ? bytes(line.bytes) : ''),
            h('td', { class: 'num' }, `${line.request!.ms} ms`),
            h('td', null, h('a', { href: `#/session/${session.id}`, onclick: (e) => (e.preventDefault(), navigate(`#/session/${session.id}`)) }, 'transcript')),
          );
        }),
      ),
    ),
  );
}
