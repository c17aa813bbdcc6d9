// A TCP connection drawn as a sequence diagram: the client's and the server's time lines, one arrow
// per captured segment (SYN, SYN+ACK, ACK; data with relative sequence and acknowledgement numbers;
// FIN or RST), the phases named at the side, retransmissions and other marks in red. A step clicked
// opens its frame.
import type { LadderData, LadderStepData } from './capture-types.js';
import { h, svg } from './dom.js';
import { endpoint } from './format.js';

const W = 760;
const LANE_C = 170;
const LANE_S = 650;
const STEP = 40;
const TOP = 52;
/** Steps drawn at most (the rest is in the frame list). */
export const MAX_STEPS = 300;

const PHASE_NAMES: Record<LadderStepData['phase'], string> = {
  handshake: 'three-way handshake',
  data: 'data',
  close: 'four-way close',
  reset: 'reset',
};

function stepClass(s: LadderStepData): string {
  const c = ['step', `phase-${s.phase}`, `from-${s.from}`];
  if (s.flags.includes('SYN')) c.push('syn');
  if (s.flags.includes('FIN')) c.push('fin');
  if (s.flags.includes('RST')) c.push('rst');
  if (s.marks.length > 0) c.push('marked');
  return c.join(' ');
}

export function tcpLadder(l: LadderData, selected: number | undefined, onStep: (frame: number) => void): HTMLElement {
  const steps = l.steps.slice(0, MAX_STEPS);
  const height = TOP + steps.length * STEP + 24;
  const root = svg('svg', {
    class: 'tcp-ladder-svg',
    viewBox: `0 0 ${W} ${height}`,
    role: 'img',
    'aria-label': `TCP ladder of ${endpoint(l.client)} and ${endpoint(l.server)}`,
  });
  root.append(
    svg('text', { x: LANE_C, y: 16, class: 'lane-title', 'text-anchor': 'middle' }, 'client'),
    svg('text', { x: LANE_C, y: 34, class: 'lane-addr', 'text-anchor': 'middle' }, endpoint(l.client)),
    svg('text', { x: LANE_S, y: 16, class: 'lane-title', 'text-anchor': 'middle' }, `server${l.service ? ` (${l.service})` : ''}`),
    svg('text', { x: LANE_S, y: 34, class: 'lane-addr', 'text-anchor': 'middle' }, endpoint(l.server)),
    svg('line', { x1: LANE_C, y1: TOP - 10, x2: LANE_C, y2: height - 8, class: 'lane-line' }),
    svg('line', { x1: LANE_S, y1: TOP - 10, x2: LANE_S, y2: height - 8, class: 'lane-line' }),
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'tl-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
  );
  let phase: string | undefined;
  steps.forEach((s, i) => {
    const y = TOP + i * STEP;
    const fromX = s.from === 'client' ? LANE_C : LANE_S;
    const toX = s.from === 'client' ? LANE_S : LANE_C;
    const g = svg('g', { class: stepClass(s) + (selected === s.frame ? ' selected' : ''), 'data-frame': s.frame, tabindex: 0, role: 'button' });
    if (s.phase !== phase) {
      phase = s.phase;
      root.append(svg('text', { x: 8, y: y + 4, class: 'phase-name' }, PHASE_NAMES[s.phase]));
      if (i > 0) root.append(svg('line', { x1: 8, y1: y - STEP / 2 + 6, x2: W - 8, y2: y - STEP / 2 + 6, class: 'phase-rule' }));
    }
    g.append(
      svg('rect', { x: LANE_C - 10, y: y - 14, width: LANE_S - LANE_C + 20, height: STEP - 2, class: 'hit' }),
      svg('line', { x1: fromX, y1: y + 6, x2: toX, y2: y + 20, class: 'arrow', 'marker-end': 'url(#tl-arrow)' }),
      svg('text', { x: (LANE_C + LANE_S) / 2, y: y, class: 'step-label', 'text-anchor': 'middle' }, s.label),
      svg('text', { x: LANE_S + 12, y: y + 16, class: 'step-time' }, `#${s.frame}  +${(s.t / 1000).toFixed(3)} s`),
    );
    if (s.marks.length > 0) g.append(svg('text', { x: (LANE_C + LANE_S) / 2, y: y + 32, class: 'step-mark', 'text-anchor': 'middle' }, s.marks.join(', ')));
    const title = svg('title', {}, `${s.label}\n${s.explanation}`);
    g.append(title);
    g.addEventListener('click', () => onStep(s.frame));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') onStep(s.frame);
    });
    root.append(g);
  });
  const c = l.counts;
  const facts = [
    `${c.segments} segments`,
    l.handshakeRttMs !== undefined ? `handshake round trip ${l.handshakeRttMs.toFixed(3)} ms` : '',
    l.windowScaling ? 'window scaling on' : 'no window scaling',
    c.retransmissions > 0 ? `${c.retransmissions} retransmitted` : '',
    c.outOfOrder > 0 ? `${c.outOfOrder} out of order` : '',
    c.duplicateAcks > 0 ? `${c.duplicateAcks} duplicate ACKs` : '',
    l.missing > 0 ? `${l.missing} not kept by the capture` : '',
  ].filter(Boolean);
  return h(
    'div',
    { class: 'tcp-ladder', data: { state: l.state } },
    h('p', { class: 'ladder-facts' }, h('span', { class: `pill state-${l.state}` }, l.state), ' ', facts.join(' · ')),
    h(
      'p',
      { class: 'muted small' },
      'Sequence (seq) and acknowledgement (ack) numbers are relative: each side counts from 0 at its SYN, as Wireshark shows them. Click an arrow to open its frame.',
    ),
    h('div', { class: 'ladder-scroll' }, root),
    l.steps.length > MAX_STEPS ? h('p', { class: 'muted' }, `${l.steps.length - MAX_STEPS} more segments in the frame list.`) : null,
  );
}
