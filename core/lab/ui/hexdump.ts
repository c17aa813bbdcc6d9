// The byte pane, the way Wireshark's works: 16 bytes a row (offset, hex, the bytes as text); a field
// chosen in the layer tree lights up its bytes here, and a byte clicked here names the field it
// belongs to.
import { h } from './dom.js';

export interface HexDump {
  el: HTMLElement;
  /** Lights up bytes [offset, offset + length); the layer's bytes a lighter shade (or clears, with no arguments). */
  highlight(field?: { offset: number; length: number }, layer?: { offset: number; length: number }): void;
}

const ROW = 16;

export function hexDump(hex: string, onByte: (offset: number) => void): HexDump {
  const n = Math.floor(hex.length / 2);
  const hexCells: HTMLElement[] = [];
  const textCells: HTMLElement[] = [];
  const rows: HTMLElement[] = [];
  for (let row = 0; row < n; row += ROW) {
    const hx = h('span', { class: 'hex-bytes' });
    const tx = h('span', { class: 'hex-text' });
    for (let i = row; i < Math.min(n, row + ROW); i++) {
      const byte = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
      const c = h('span', { class: 'hb', data: { i: String(i) } }, hex.slice(i * 2, i * 2 + 2));
      const t = h('span', { class: 'ht', data: { i: String(i) } }, byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '·');
      if (i % ROW === 7) c.classList.add('gap');
      hexCells.push(c);
      textCells.push(t);
      hx.append(c);
      tx.append(t);
    }
    rows.push(h('div', { class: 'hex-row' }, h('span', { class: 'hex-off' }, row.toString(16).padStart(4, '0')), hx, tx));
  }
  const el = h('div', { class: 'hexdump mono', role: 'group', aria: { label: 'frame bytes' } }, rows);
  el.addEventListener('click', (e) => {
    const i = (e.target as HTMLElement).dataset?.i;
    if (i !== undefined) onByte(Number(i));
  });
  let lit: number[] = [];
  return {
    el,
    highlight(field, layer) {
      for (const i of lit) {
        hexCells[i]?.classList.remove('on', 'in-layer');
        textCells[i]?.classList.remove('on', 'in-layer');
      }
      lit = [];
      const mark = (r: { offset: number; length: number } | undefined, cls: string): void => {
        if (!r) return;
        for (let i = r.offset; i < Math.min(n, r.offset + Math.max(1, r.length)); i++) {
          hexCells[i]?.classList.add(cls);
          textCells[i]?.classList.add(cls);
          lit.push(i);
        }
      };
      mark(layer, 'in-layer');
      mark(field, 'on');
      if (field) hexCells[field.offset]?.scrollIntoView({ block: 'nearest' });
    },
  };
}
