// The live lab page: tabs for the views, one live stream feeding them all, large text for the
// projector. Views are rebuilt from the store when what they show changes (at most a few times a
// second); the transcript only appends the new lines.
import { dhcpView } from './dhcp.js';
import { h, replace } from './dom.js';
import { httpView, resetHttp } from './http.js';
import { inboxView } from './inbox.js';
import { overviewView } from './overview.js';
import { packetsView } from './packets.js';
import { dnsView } from './dns.js';
import { currentRoute, navigate, onRoute, type Route } from './router.js';
import { requestsView, tlsView, transcriptView } from './session.js';
import { filterFrom, sessionsView } from './sessions.js';
import { store, type Change } from './store.js';
import { connect } from './stream.js';

interface Controller {
  el: HTMLElement;
  /** Redraws on a change; returns false when the whole view should be rebuilt instead. */
  change(c: Change, id?: string): boolean;
}

const app = document.getElementById('app')!;
const tabs = document.getElementById('tabs')!;
const connEl = document.getElementById('conn')!;
const bigBtn = document.getElementById('bigtext') as HTMLButtonElement;
let current: Controller | undefined;
let currentKey = '';

function build(route: Route): Controller {
  switch (route.view) {
    case 'sessions': {
      const v = sessionsView(filterFrom(route.params));
      return {
        el: v.el,
        change(c) {
          if (c !== 'notices' && c !== 'dhcp' && c !== 'packets') v.update();
          return true;
        },
      };
    }
    case 'session': {
      const id = route.parts[0] ?? '';
      const sub = route.parts[1] ?? '';
      const v = sub === 'tls' ? tlsView(id) : sub === 'requests' ? requestsView(id) : transcriptView(id);
      return {
        el: v.el,
        change(c, changed) {
          if (c === 'hello' || c === 'pin' || c === 'overview' || ((c === 'lines' || c === 'sessions') && changed === id)) v.update();
          return true;
        },
      };
    }
    case 'projector':
      return projector();
    case 'dhcp':
      return { el: dhcpView(route.parts[0]), change: (c) => c !== 'dhcp' && c !== 'hello' };
    case 'http': {
      const v = httpView();
      return {
        el: v.el,
        change(c, id) {
          if (c === 'hello') resetHttp();
          if (c === 'hello' || (c === 'lines' && id && (store.sessions.get(id)?.service ?? '').startsWith('http'))) v.update();
          return true;
        },
      };
    }
    case 'mail':
      return { el: inboxView(route), change: (c) => c !== 'hello' };
    case 'packets':
      return packetsView(route);
    case 'dns':
      return { el: dnsView(route.parts[0]), change: (c) => c !== 'packets' && c !== 'hello' };
    default:
      return { el: overviewView(), change: (c) => c !== 'overview' && c !== 'hello' };
  }
}

/** The projector: large text, the session an instructor pinned, following it live. */
function projector(): Controller {
  const el = h('div', { class: 'projector-wrap' });
  let shown: string | undefined;
  let view: ReturnType<typeof transcriptView> | undefined;
  const draw = (): void => {
    if (store.viewer.role !== 'instructor') {
      replace(el, h('p', { class: 'empty' }, 'The projector view is for instructors: log in with an instructor account.'));
      return;
    }
    if (store.pinned !== shown || !view) {
      shown = store.pinned;
      if (!shown) {
        view = undefined;
        replace(el, h('p', { class: 'empty big-empty' }, 'Nothing pinned yet: open a session and press “Pin to projector”.'));
        return;
      }
      view = transcriptView(shown, { projector: true });
      replace(el, view.el);
    } else view.update();
  };
  draw();
  return {
    el,
    change(c, id) {
      if (c === 'pin' || c === 'hello' || id === shown) draw();
      return true;
    },
  };
}

function drawTabs(route: Route): void {
  const mine = [...store.sessions.values()].filter((s) => !s.lab);
  const open = mine.filter((s) => s.closedAt === undefined).length;
  const items: Array<[string, string]> = [
    ['overview', 'Overview'],
    ['sessions', `Sessions${mine.length > 0 ? ` (${open} open)` : ''}`],
    ['dhcp', 'DHCP'],
    ['http', 'HTTP'],
    ['packets', 'Packets'],
    ['dns', 'DNS'],
    ['mail', 'Mail'],
  ];
  if (store.viewer.role === 'instructor') items.push(['projector', 'Projector']);
  const active = route.view === 'session' ? 'sessions' : route.view;
  replace(
    tabs,
    items.map(([key, label]) =>
      h('a', { href: `#/${key}`, class: active === key ? 'active' : '', aria: active === key ? { current: 'page' } : {}, data: { tab: key } }, label),
    ),
  );
  // On a phone the tab bar scrolls sideways: keep the current tab in sight.
  if (active !== drawnTab) {
    drawnTab = active;
    tabs.querySelector('.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}
let drawnTab = '';

function render(): void {
  const route = currentRoute();
  const key = `${route.view}/${route.parts.join('/')}?${route.params.toString()}`;
  document.body.classList.toggle('projector-mode', route.view === 'projector');
  drawTabs(route);
  if (key !== currentKey || !current) {
    currentKey = key;
    current = build(route);
    replace(app, current.el);
    window.scrollTo({ top: 0 });
  }
}

let pending = new Set<Change>();
let pendingIds = new Set<string | undefined>();
let scheduled = false;

function onStoreChange(c: Change, id?: string): void {
  if (c === 'conn') {
    drawConn();
    return;
  }
  pending.add(c);
  pendingIds.add(id);
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const changes = pending;
    const ids = pendingIds;
    pending = new Set();
    pendingIds = new Set();
    const route = currentRoute();
    drawTabs(route);
    if (!current) return render();
    let rebuild = false;
    for (const ch of changes) {
      if (ch === 'lines' || ch === 'sessions') {
        for (const i of ids) if (!current.change(ch, i)) rebuild = true;
      } else if (!current.change(ch)) rebuild = true;
    }
    if (rebuild) {
      current = build(route);
      replace(app, current.el);
    }
  });
}

function drawConn(): void {
  const text = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting…', offline: 'offline, retrying' }[store.conn];
  connEl.className = `conn conn-${store.conn}`;
  connEl.dataset.resumes = String(store.resumes);
  connEl.title = `live stream: ${text}${store.resumes > 0 ? ` (resumed ${store.resumes}× without losing events)` : ''}`;
  connEl.querySelector('.conn-text')!.textContent = text;
}

function setBig(on: boolean): void {
  document.documentElement.classList.toggle('big', on);
  bigBtn.setAttribute('aria-pressed', String(on));
  try {
    localStorage.setItem('labnet.big', on ? '1' : '0');
  } catch {
    // storage may be off; the toggle still works for this page
  }
}

function boot(): void {
  let big: boolean;
  try {
    big = localStorage.getItem('labnet.big') === '1';
  } catch {
    big = false;
  }
  if (new URLSearchParams(location.search).get('big') === '1') big = true;
  setBig(big);
  bigBtn.addEventListener('click', () => setBig(!document.documentElement.classList.contains('big')));
  store.on(onStoreChange);
  onRoute(render);
  store.on((c) => {
    if (c === 'hello') {
      // The login may have changed what can be seen: start the view afresh.
      currentKey = '';
      render();
    }
  });
  if (!location.hash) navigate('#/overview', true);
  render();
  drawConn();
  connect();
}

boot();
