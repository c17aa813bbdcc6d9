// The packet view: the flows the viewer may see (their own connections, DHCP and ARP exchanges,
// pings), per flow its frames the way Wireshark lists them (no., time, source, destination, protocol,
// length, info) and, for TCP, its ladder; a frame opens to its encapsulation (each header and the data
// with their sizes, the CRC the capture never holds), its layers as a tree of fields with the course's
// notes, and its bytes, a field's bytes lit up when the field is chosen (and back: a byte clicked
// chooses its field). Addresses: #/packets, #/packets/FLOW, #/packets/FLOW/FRAME, #/packets?session=ID.
import { API, capture } from './capture.js';
import { flowOfSession } from './capture.js';
import type { EncapsulationData, FieldData, FlowData, FrameDetailData, FrameLine, LayerData } from './capture-types.js';
import { h, replace, type Child } from './dom.js';
import { bytes, clockMs, count } from './format.js';
import { hexDump, type HexDump } from './hexdump.js';
import type { Route } from './router.js';
import { store } from './store.js';
import { tcpLadder } from './tcp-ladder.js';

const MAX_FLOWS_SHOWN = 200;
const MAX_ROWS = 1000;

export interface PacketView {
  el: HTMLElement;
}

const KIND_LABEL: Record<FlowData['kind'], string> = { tcp: 'TCP', udp: 'UDP', dhcp: 'DHCP', arp: 'ARP', icmp: 'ICMP', ip: 'IP', other: 'other' };

function setHash(hash: string): void {
  // The selection is in the address (to share or reload) without rebuilding the view.
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** " · 110 bytes not captured": a gap in the connection's streams (tshark cannot follow or decrypt past it). */
function notCapturedText(f: FlowData): string {
  const n = (f.notCaptured?.client ?? 0) + (f.notCaptured?.server ?? 0);
  return n > 0 ? ` · ${bytes(n)} not captured` : '';
}

function flowLabel(f: FlowData): Child {
  return [
    h('span', { class: `proto-tag k-${f.kind}` }, f.service ? f.service.toUpperCase() : KIND_LABEL[f.kind]),
    f.tls ? h('span', { class: 'badge tls' }, 'TLS') : null,
    h('span', { class: 'flow-title mono' }, f.title),
    h(
      'span',
      { class: 'flow-facts muted' },
      `${count(f.frames)} frames · ${bytes(f.bytes)}${f.state ? ` · ${f.state}` : ''}${f.missed > 0 ? ` · ${f.missed} not kept` : ''}${notCapturedText(f)}`,
    ),
  ];
}

/** The packet view; it keeps itself current from the capture state until it leaves the page. */
export function framesView(route: Route): PacketView {
  const statusEl = h('div', { class: 'capture-status' });
  const listEl = h('ol', { class: 'flow-list', aria: { label: 'flows' } });
  const flowEl = h('div', { class: 'flow-panel' });
  let selectedFlow: string | undefined = route.parts[0];
  let selectedFrame: number | undefined = route.parts[1] !== undefined ? Number(route.parts[1]) : undefined;
  let drawnFrames = 0;
  let framesBody: HTMLElement | undefined;
  let ladderBox: HTMLElement | undefined;
  let detailBox: HTMLElement | undefined;
  let headBox: HTMLElement | undefined;

  const drawStatus = (): void => {
    const s = capture.status;
    if (capture.error) return replace(statusEl, h('p', { class: 'pill bad' }, capture.error));
    if (!s) return replace(statusEl, h('span', { class: 'muted' }, 'loading…'));
    if (!s.enabled) {
      return replace(
        statusEl,
        h(
          'p',
          { class: 'notice-box' },
          'The packet capture is off. An instructor turns it on with capture: { enabled: true } in the configuration (it needs the right to capture: root or CAP_NET_RAW).',
        ),
      );
    }
    const ok = s.state === 'capturing';
    replace(
      statusEl,
      h(
        'span',
        { class: `pill ${ok ? 'ok' : s.state === 'thinned' ? 'warn' : 'bad'}`, data: { state: s.state } },
        ok ? `capturing on ${s.interface}` : `${s.state} (${s.interface})`,
      ),
      s.error ? h('span', { class: 'muted' }, ` ${s.error}`) : null,
      store.viewer.role === 'instructor' ? [' ', h('a', { href: '/lab/capture.pcapng', class: 'button-link' }, 'Download the whole capture (pcapng)')] : null,
    );
  };

  const drawList = (): void => {
    const flows = capture.list();
    if (flows.length === 0) {
      replace(
        listEl,
        h(
          'li',
          { class: 'empty' },
          capture.loaded
            ? 'No frames of yours yet. Fetch a page with curl or a browser, send a mail, or ping the lab: each connection appears here.'
            : 'loading…',
        ),
      );
      return;
    }
    replace(
      listEl,
      flows
        .slice(0, MAX_FLOWS_SHOWN)
        .map((f) =>
          h(
            'li',
            { class: `flow${f.id === selectedFlow ? ' selected' : ''}`, data: { flow: f.id, kind: f.kind } },
            h('button', { type: 'button', class: 'flow-button', onclick: () => selectFlow(f.id) }, flowLabel(f)),
          ),
        ),
    );
  };

  const selectFlow = (id: string): void => {
    if (selectedFlow !== id) selectedFrame = undefined;
    selectedFlow = id;
    setHash(`#/packets/${id}`);
    drawList();
    drawFlow(true);
  };

  const selectFrame = (id: number): void => {
    selectedFrame = id;
    setHash(`#/packets/${selectedFlow ?? ''}/${id}`);
    for (const r of framesBody?.querySelectorAll('tr.selected') ?? []) r.classList.remove('selected');
    framesBody?.querySelector(`tr[data-frame="${id}"]`)?.classList.add('selected');
    const f = selectedFlow ? capture.framesOf(selectedFlow) : undefined;
    if (ladderBox && f?.ladder) replace(ladderBox, tcpLadder(f.ladder, selectedFrame, selectFrame));
    void drawDetail();
  };

  const frameRow = (line: FrameLine, first: number): HTMLElement => {
    const marked = (line.marks?.length ?? 0) > 0;
    return h(
      'tr',
      {
        class: `frame-row from-${line.from ?? 'none'}${marked ? ' marked' : ''}${line.id === selectedFrame ? ' selected' : ''}`,
        tabindex: 0,
        data: { frame: String(line.id) },
        onclick: () => selectFrame(line.id),
        onkeydown: (e) => {
          if (e.key === 'Enter') selectFrame(line.id);
        },
      },
      h('td', { class: 'num' }, String(line.id)),
      h('td', { class: 'num', title: clockMs(line.time) }, `${((line.time - first) / 1000).toFixed(6)}`),
      h('td', { class: 'mono' }, line.source),
      h('td', { class: 'mono' }, line.destination),
      h('td', null, h('span', { class: `proto-tag p-${line.protocol.toLowerCase()}` }, line.protocol)),
      h('td', { class: 'num' }, String(line.length)),
      h('td', { class: 'mono info' }, line.info),
    );
  };

  const drawFlow = (fresh: boolean): void => {
    if (!selectedFlow) {
      replace(flowEl, h('p', { class: 'empty' }, 'Choose a flow on the left: its frames, layer by layer, and for TCP its ladder.'));
      return;
    }
    const flow = capture.flows.get(selectedFlow);
    const f = capture.framesOf(selectedFlow);
    if (fresh || !framesBody) {
      headBox = h('div', { class: 'flow-head' });
      ladderBox = h('div', { class: 'ladder-box' });
      framesBody = h('tbody', null);
      detailBox = h('div', { class: 'frame-detail' });
      drawnFrames = 0;
      replace(
        flowEl,
        headBox,
        ladderBox,
        h('h3', null, 'Frames'),
        h(
          'div',
          { class: 'table-wrap frames-wrap' },
          h(
            'table',
            { class: 'list frames' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['No.', 'Time', 'Source', 'Destination', 'Protocol', 'Length', 'Info'].map((c) => h('th', null, c)),
              ),
            ),
            framesBody,
          ),
        ),
        detailBox,
      );
      if (selectedFrame !== undefined) void drawDetail();
    }
    replace(headBox!, flow ? flowHead(flow) : h('p', { class: 'muted' }, `flow ${selectedFlow}`), f.error ? h('p', { class: 'pill bad' }, f.error) : null);
    if (f.ladder) replace(ladderBox!, h('h3', null, 'TCP ladder'), tcpLadder(f.ladder, selectedFrame, selectFrame));
    else if (flow?.kind === 'arp') replace(ladderBox!, arpAround(flow));
    else replace(ladderBox!);
    // Frames only ever get appended: add the new rows.
    if (f.frames.length < drawnFrames) {
      framesBody.replaceChildren();
      drawnFrames = 0;
    }
    const first = f.frames[0]?.time ?? 0;
    for (const line of f.frames.slice(drawnFrames, drawnFrames + MAX_ROWS)) framesBody.append(frameRow(line, first));
    drawnFrames = Math.min(f.frames.length, drawnFrames + MAX_ROWS);
    if (f.frames.length === 0) replace(framesBody, h('tr', null, h('td', { colspan: 7, class: 'empty' }, f.loading ? 'loading…' : 'No frames kept.')));
    else framesBody.querySelector('td.empty')?.parentElement?.remove();
  };

  const flowHead = (flow: FlowData): Child => {
    const s = flow.session ? store.sessions.get(flow.session) : undefined;
    return [
      h('h3', { class: 'mono' }, flow.title),
      h(
        'p',
        { class: 'flow-links' },
        flow.session
          ? h(
              'a',
              { href: `#/session/${encodeURIComponent(flow.session)}`, class: 'button-link' },
              `Transcript of ${flow.session}${s?.user ? ` (${s.user})` : ''}`,
            )
          : null,
        ' ',
        h('a', { href: `${API}/flows/${encodeURIComponent(flow.id)}.pcapng`, class: 'button-link download', data: { download: 'flow' } }, 'Download pcapng'),
        flow.tls ? h('span', { class: 'muted' }, ' (the TLS keys are inside: Wireshark opens it decrypted)') : null,
      ),
      flow.kind === 'dhcp' && flow.client.mac
        ? h('p', null, h('a', { href: `#/dhcp/${encodeURIComponent(flow.client.mac)}` }, 'This client in the DHCP ladder'))
        : null,
    ];
  };

  /** An ARP exchange: what it asked, what it resolved, and the flows that used the answer. */
  const arpAround = (flow: FlowData): Child => {
    const asked = flow.arp?.address ?? flow.server.address;
    const near = capture
      .list()
      .filter((x) => x.kind !== 'arp' && (x.server.address === asked || x.client.address === asked) && Math.abs(x.firstTime - flow.lastTime) < 60_000)
      .slice(0, 10);
    return h(
      'div',
      { class: 'arp-box' },
      h('h3', null, 'ARP exchange'),
      h(
        'p',
        null,
        `${flow.client.address} asked who has ${asked}; `,
        flow.arp?.resolvedTo ? h('strong', { class: 'mono' }, `${asked} is at ${flow.arp.resolvedTo}`) : 'no answer was captured.',
      ),
      near.length > 0
        ? [
            h('p', null, 'The frames around it (flows to or from that address):'),
            h(
              'ul',
              null,
              near.map((x) => h('li', null, h('a', { href: `#/packets/${x.id}`, onclick: () => selectFlow(x.id) }, x.title))),
            ),
          ]
        : null,
    );
  };

  const drawDetail = async (): Promise<void> => {
    const box = detailBox;
    if (!box || selectedFrame === undefined) return;
    const want = selectedFrame;
    replace(box, h('p', { class: 'muted' }, `frame ${want}…`));
    try {
      const d = await capture.detail(want);
      if (selectedFrame !== want || box !== detailBox) return;
      replace(box, frameDetail(d));
    } catch (err) {
      if (selectedFrame === want) replace(box, h('p', { class: 'pill bad' }, err instanceof Error ? err.message : String(err)));
    }
  };

  const el = h(
    'section',
    { class: 'view packets' },
    h('div', { class: 'view-head' }, h('h2', null, 'Packets'), statusEl),
    h('div', { class: 'packet-grid' }, h('div', { class: 'flows-col' }, h('h3', null, 'Flows'), listEl), flowEl),
  );

  const off = capture.on((id) => {
    if (!el.isConnected) {
      off();
      return;
    }
    drawStatus();
    drawList();
    if (selectedFlow && (id === undefined || id === selectedFlow)) drawFlow(false);
  });

  drawStatus();
  drawList();
  drawFlow(true);
  if (!capture.loaded) void capture.load();
  const session = route.params.get('session');
  if (session && !selectedFlow) {
    flowOfSession(session)
      .then((f) => {
        if (!f) return replace(flowEl, h('p', { class: 'empty' }, `No frames captured for ${session} (the capture may be off, or it no longer keeps them).`));
        capture.flows.set(f.id, { ...capture.flows.get(f.id), ...f });
        selectFlow(f.id);
      })
      .catch((err: unknown) => replace(flowEl, h('p', { class: 'pill bad' }, err instanceof Error ? err.message : String(err))));
  }
  return { el };
}

// ---- one frame ----

function allFields(layer: LayerData): FieldData[] {
  const out: FieldData[] = [];
  const walk = (fs: FieldData[], depth: number): void => {
    if (depth > 4) return;
    for (const f of fs) {
      out.push(f);
      if (f.children) walk(f.children, depth + 1);
    }
  };
  walk(layer.fields, 0);
  return out;
}

/**
 * A note that corrects or sharpens what the course says (it names the course, or says what a flag does
 * NOT allow): shown in the tree under its field; the others open with the field.
 */
function correctsCourse(note: string): boolean {
  return /\bcourse\b|\bNOT\b/.test(note);
}

export function frameDetail(d: FrameDetailData): HTMLElement {
  const fieldEls = new Map<FieldData, HTMLElement>();
  const layerOf = new Map<FieldData, LayerData>();
  let chosen: HTMLElement | undefined;
  const hex: HexDump = hexDump(d.hex, (offset) => {
    // The narrowest field over that byte (a flag before its flags byte; a header field before its layer).
    let best: FieldData | undefined;
    for (const [f] of fieldEls) if (offset >= f.offset && offset < f.offset + f.length && (!best || f.length <= best.length)) best = f;
    if (best) {
      choose(best);
      const row = fieldEls.get(best)!;
      row.closest('details')?.setAttribute('open', '');
      row.scrollIntoView({ block: 'nearest' });
    }
  });
  const about = h(
    'div',
    { class: 'field-about', aria: { live: 'polite' } },
    h('p', { class: 'muted' }, 'Click a field (or a byte) to see where it lies and what the course says about it.'),
  );
  const choose = (f: FieldData | undefined, layer?: LayerData): void => {
    chosen?.classList.remove('chosen');
    chosen = f ? fieldEls.get(f) : undefined;
    chosen?.classList.add('chosen');
    const l = f ? layerOf.get(f) : layer;
    hex.highlight(f, l);
    if (f) replace(about, fieldAbout(f, l));
  };

  const fieldRow = (f: FieldData, layer: LayerData, depth: number): HTMLElement => {
    layerOf.set(f, layer);
    const btn = h(
      'button',
      { type: 'button', class: 'field-line', data: { field: f.id, offset: String(f.offset), length: String(f.length) }, onclick: () => choose(f) },
      f.bits ? h('span', { class: 'bits mono' }, f.bits, ' ') : null,
      h('span', { class: 'field-name' }, f.name),
      ': ',
      h('span', { class: 'field-value mono' }, f.text),
      h('span', { class: 'field-pos muted' }, ` [${f.offset}${f.length > 1 ? `–${f.offset + f.length - 1}` : ''}]`),
      f.note && !correctsCourse(f.note) ? h('span', { class: 'has-note', title: 'a course note: click to read it' }, 'note') : null,
      f.check
        ? h(
            'span',
            { class: `pill check-${f.check.status} ${f.check.status === 'good' ? 'ok' : f.check.status === 'bad' ? 'bad' : 'warn'}`, title: f.check.text },
            f.check.text,
          )
        : null,
    );
    const li = h(
      'li',
      { class: `field depth-${depth}` },
      btn,
      f.note && correctsCourse(f.note) ? h('p', { class: 'course-note corrects' }, h('span', { class: 'note-tag' }, 'course note'), ' ', f.note) : null,
      f.children && f.children.length > 0 && depth < 4
        ? h(
            'ul',
            { class: 'field-children' },
            f.children.map((c) => fieldRow(c, layer, depth + 1)),
          )
        : null,
    );
    fieldEls.set(f, btn);
    return li;
  };

  const layers = d.layers.map((l) => {
    const summary = h(
      'summary',
      null,
      h('strong', null, l.name),
      ', ',
      h('span', { class: 'mono' }, l.summary),
      h('span', { class: 'muted' }, ` (${l.length} bytes)`),
    );
    summary.addEventListener('click', () => {
      const first = allFields(l)[0];
      hex.highlight(undefined, l);
      if (!first) return;
    });
    return h(
      'details',
      { class: `layer layer-${l.id}${l.quoted ? ' quoted' : ''}`, data: { layer: l.id } },
      summary,
      l.note ? h('p', { class: 'course-note layer-note' }, h('span', { class: 'note-tag' }, 'course note'), ' ', l.note) : null,
      l.problems.map((p) => h('p', { class: 'problem' }, p)),
      h(
        'ul',
        { class: 'fields-tree' },
        l.fields.map((f) => fieldRow(f, l, 0)),
      ),
    );
  });
  for (const l of layers) l.setAttribute('open', '');

  return h(
    'div',
    { class: 'frame', data: { frame: String(d.id) } },
    h(
      'h3',
      null,
      `Frame ${d.id}: `,
      h('span', { class: 'mono' }, d.summary),
      h('span', { class: 'muted' }, ` — ${d.originalLength} bytes on the wire${d.truncated ? `, ${d.capturedLength} captured` : ''}`),
    ),
    d.tcp ? h('p', { class: 'segment-explained' }, h('strong', null, d.tcp.label), ': ', d.tcp.explanation) : null,
    encapsulation(d.encapsulation, (part) => {
      chosen?.classList.remove('chosen');
      chosen = undefined;
      hex.highlight({ offset: part.offset, length: part.captured }, undefined);
    }),
    d.problems.length > 0
      ? h(
          'ul',
          { class: 'problems' },
          d.problems.map((p) => h('li', { class: 'problem' }, p)),
        )
      : null,
    h(
      'div',
      { class: 'frame-panes' },
      h('div', { class: 'layers-pane' }, h('h4', null, 'Layers (click a field to see its bytes)'), layers),
      h('div', { class: 'bytes-pane' }, h('h4', null, 'Bytes (click a byte to find its field)'), hex.el, about),
    ),
  );
}

/** The chosen field: where its bytes and bits are, its value, and the course's note on it. */
function fieldAbout(f: FieldData, layer: LayerData | undefined): Child {
  const bytesText = f.length > 1 ? `bytes ${f.offset} to ${f.offset + f.length - 1} of the frame` : `byte ${f.offset} of the frame`;
  const inLayer = layer ? ` (${f.offset - layer.offset > 0 ? `${f.offset - layer.offset} bytes into` : 'the start of'} the ${layer.name} header)` : '';
  return [
    h('h4', null, f.name, ' ', h('span', { class: 'muted mono' }, f.id)),
    h(
      'p',
      null,
      `${bytesText}${inLayer}`,
      f.bits ? [', bits ', h('span', { class: 'mono' }, f.bits)] : null,
      '; value ',
      h('strong', { class: 'mono' }, f.text),
    ),
    f.check ? h('p', null, f.check.text) : null,
    f.note ? h('p', { class: 'course-note' }, h('span', { class: 'note-tag' }, 'course note'), ' ', f.note) : null,
  ];
}

/** The frame as nested boxes side by side: each header, the data, padding and the CRC, with sizes. */
export function encapsulation(parts: EncapsulationData[], onPart: (p: EncapsulationData) => void): HTMLElement {
  const own = parts.filter((p) => p.depth === 0);
  const total = own.reduce((s, p) => s + p.length, 0) || 1;
  const boxes = own.map((p) => {
    const b = h(
      'button',
      {
        type: 'button',
        role: 'listitem',
        class: `encap-part layer-${p.layer}${p.captured === 0 ? ' not-captured' : ''}`,
        title: p.note ?? `${p.name}: ${p.length} bytes at offset ${p.offset}`,
        data: { layer: p.layer },
        onclick: () => onPart(p),
      },
      h('span', { class: 'encap-name' }, p.name),
      h('span', { class: 'encap-size' }, `${p.length} bytes`),
    );
    // Width follows the size, with a floor so a 4-byte CRC stays readable.
    b.style.flexGrow = String(Math.max(p.length / total, 0.08) * 100);
    return b;
  });
  return h(
    'div',
    { class: 'encapsulation-box' },
    h('div', { class: 'encapsulation', role: 'list', aria: { label: 'encapsulation' } }, boxes),
    own
      .filter((p) => p.captured === 0 && p.note)
      .map((p) => h('p', { class: 'course-note corrects' }, h('span', { class: 'note-tag' }, 'course note'), ` ${p.name}: ${p.note}`)),
  );
}
