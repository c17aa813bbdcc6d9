// A ladder diagram (message sequence chart): two lanes, client and server, one arrow per message in
// time order; a message opens to show its fields. Used for the DHCP exchange and the TLS handshake.
import { h, type Child } from './dom.js';

export interface Rung {
  key: string;
  /** Which side sent it. */
  from: 'client' | 'server';
  label: string;
  /** Small text under the label (time, size, addresses). */
  sub?: string;
  badges?: Child[];
  /** What opens below the arrow. */
  details: () => HTMLElement;
  className?: string;
}

export function ladder(lanes: { client: string; server: string }, rungs: Rung[], open: Set<string>): HTMLElement {
  const body = rungs.map((r) => {
    const detailsBox = h('div', { class: 'rung-details' });
    const expanded = open.has(r.key);
    if (expanded) detailsBox.append(r.details());
    const toggle = (): void => {
      if (open.has(r.key)) {
        open.delete(r.key);
        detailsBox.replaceChildren();
        btn.setAttribute('aria-expanded', 'false');
      } else {
        open.add(r.key);
        detailsBox.replaceChildren(r.details());
        btn.setAttribute('aria-expanded', 'true');
      }
    };
    const btn = h(
      'button',
      { type: 'button', class: `rung-arrow from-${r.from}`, aria: { expanded: String(expanded) }, onclick: toggle },
      h('span', { class: 'rung-label' }, r.label, r.badges ?? null),
      r.sub ? h('span', { class: 'rung-sub' }, r.sub) : null,
      h('span', { class: 'arrow-line', aria: { hidden: 'true' } }),
    );
    return h('li', { class: `rung ${r.className ?? ''}`, data: { key: r.key } }, btn, detailsBox);
  });
  return h(
    'div',
    { class: 'ladder' },
    h('div', { class: 'lanes' }, h('div', { class: 'lane lane-client' }, lanes.client), h('div', { class: 'lane lane-server' }, lanes.server)),
    h('ol', { class: 'rungs' }, body),
  );
}

/** A small table of name/value/note rows. */
export function fieldTable(head: string[], rows: Child[][], className = ''): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: `fields ${className}` },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          head.map((c) => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            null,
            r.map((c) => h('td', null, c)),
          ),
        ),
      ),
    ),
  );
}
