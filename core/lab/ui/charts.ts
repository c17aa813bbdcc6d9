// Small live charts (sparklines) as SVG: the last few minutes, one point per second, scaled to the
// largest value shown (printed beside it).
import { svg } from './dom.js';

export function sparkline(values: readonly number[], options: { width?: number; height?: number; className?: string; label: string }): SVGElement {
  const w = options.width ?? 160;
  const hgt = options.height ?? 36;
  const pts = values.slice(-120);
  const max = Math.max(1, ...pts);
  const step = pts.length > 1 ? w / (pts.length - 1) : w;
  const y = (v: number): number => hgt - 2 - (v / max) * (hgt - 4);
  let d = '';
  pts.forEach((v, i) => {
    d += `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`;
  });
  const area = pts.length > 1 ? `${d}L${((pts.length - 1) * step).toFixed(1)},${hgt}L0,${hgt}Z` : '';
  const el = svg(
    'svg',
    { class: `spark ${options.className ?? ''}`, viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': options.label },
    svg('title', {}, options.label),
    svg('path', { class: 'spark-area', d: area }),
    svg('path', { class: 'spark-line', d: d || `M0,${hgt - 2}L${w},${hgt - 2}` }),
  );
  return el;
}
