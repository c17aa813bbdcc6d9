// Building the page without ever parsing markup: every piece of text goes in as a text node, so what a
// client sent (an EHLO name with <script>, a subject, a mailbox name, an HTTP path) is shown, never run.
// Links may only point inside the lab (#/... or /lab...). There is deliberately no innerHTML anywhere.

export type Child = Node | string | number | false | null | undefined | Child[];

export interface Attrs {
  class?: string;
  id?: string;
  title?: string;
  /** Internal links only: '#/...' or '/lab...'. */
  href?: string;
  type?: string;
  value?: string;
  name?: string;
  placeholder?: string;
  role?: string;
  tabindex?: number;
  disabled?: boolean;
  checked?: boolean;
  colspan?: number;
  for?: string;
  data?: Record<string, string>;
  aria?: Record<string, string>;
  onclick?: (e: MouseEvent) => void;
  oninput?: (e: Event) => void;
  onchange?: (e: Event) => void;
  onkeydown?: (e: KeyboardEvent) => void;
}

function safeHref(href: string): string {
  return href.startsWith('#') || href.startsWith('/lab') ? href : '#';
}

export function append(parent: Node, child: Child): void {
  if (child === false || child === null || child === undefined) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    if (attrs.class) el.className = attrs.class;
    if (attrs.id) el.id = attrs.id;
    if (attrs.title) el.title = attrs.title;
    if (attrs.href !== undefined) el.setAttribute('href', safeHref(attrs.href));
    if (attrs.type) el.setAttribute('type', attrs.type);
    if (attrs.value !== undefined) (el as HTMLInputElement).value = attrs.value;
    if (attrs.name) el.setAttribute('name', attrs.name);
    if (attrs.placeholder) el.setAttribute('placeholder', attrs.placeholder);
    if (attrs.role) el.setAttribute('role', attrs.role);
    if (attrs.tabindex !== undefined) el.tabIndex = attrs.tabindex;
    if (attrs.disabled) el.setAttribute('disabled', '');
    if (attrs.checked) (el as HTMLInputElement).checked = true;
    if (attrs.colspan) el.setAttribute('colspan', String(attrs.colspan));
    if (attrs.for) el.setAttribute('for', attrs.for);
    if (attrs.data) for (const [k, v] of Object.entries(attrs.data)) el.dataset[k] = v;
    if (attrs.aria) for (const [k, v] of Object.entries(attrs.aria)) el.setAttribute(`aria-${k}`, v);
    const target = el as HTMLElement;
    if (attrs.onclick) target.addEventListener('click', attrs.onclick);
    if (attrs.oninput) target.addEventListener('input', attrs.oninput);
    if (attrs.onchange) target.addEventListener('change', attrs.onchange);
    if (attrs.onkeydown) target.addEventListener('keydown', attrs.onkeydown);
  }
  for (const c of children) append(el, c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number>, ...children: Array<SVGElement | string>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const c of children) append(parent, c);
}
