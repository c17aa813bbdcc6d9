// The web inbox (#/mail): your own mailbox, read the way the course's mail part explains it. Folders
// on the left, the newest messages in the middle, the open message on the right with its addresses,
// and four ways to look at it: the plain text, the HTML (in a sandboxed frame: no scripts, no remote
// images, an origin of its own), every header field as sent, and the source. Attachments download.
// Instructors pick any mailbox. Data from /lab/api/mail/ (core/lab/inbox-routes.ts); text always goes
// in as text nodes (dom.ts).
import { h, replace } from './dom.js';
import { bytes } from './format.js';
import { navigate, type Route } from './router.js';
import { loginFirst } from './sessions.js';
import { store } from './store.js';

interface FolderInfo {
  name: string;
  messages: number;
  unseen: number;
}
interface ListItem {
  uid: number;
  folder: string;
  from: string;
  subject: string;
  date: string | null;
  receivedAt: string;
  size: number;
  seen: boolean;
}
interface MessageInfo {
  uid: number;
  folder: string;
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string | null;
  text: string;
  hasHtml: boolean;
  remoteReferences: number;
  attachments: Array<{ index: number; filename: string | null; contentType: string; size: number; inline: boolean }>;
  headers: Array<{ name: string; value: string }>;
  headerCount: number;
  size: number;
}

const SHOWS = ['text', 'html', 'structure', 'headers', 'source'] as const;
type Show = (typeof SHOWS)[number];

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok)
    throw new Error(
      r.status === 403 ? 'That mailbox is not yours.' : r.status === 404 ? 'Not found (deleted meanwhile?).' : `The server answered ${r.status}.`,
    );
  return (await r.json()) as T;
}

function when(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString();
}

export function inboxView(route: Route): HTMLElement {
  const el = h('section', { class: 'view inbox-view' });
  if (store.viewer.role === 'anonymous') {
    replace(el, loginFirst('your mail'));
    return el;
  }
  const p = route.params;
  const user = p.get('user') ?? '';
  const folder = p.get('folder') || 'INBOX';
  const uid = p.get('uid') ?? '';
  const show: Show = (SHOWS as readonly string[]).includes(p.get('show') ?? '') ? (p.get('show') as Show) : 'text';
  const link = (o: { user?: string; folder?: string; uid?: string | number; show?: Show }): string => {
    const q = new URLSearchParams();
    const u = o.user ?? user;
    if (u) q.set('user', u);
    q.set('folder', o.folder ?? folder);
    const id = o.uid === undefined ? uid : String(o.uid);
    if (id) q.set('uid', id);
    const s = o.show ?? (o.uid === undefined ? show : 'text');
    if (s !== 'text') q.set('show', s);
    return `#/mail?${q.toString()}`;
  };
  const api = (what: string, extra: Record<string, string> = {}): string => {
    const q = new URLSearchParams({ ...(user ? { user } : {}), folder, ...extra });
    return `/lab/api/mail/${what}?${q.toString()}`;
  };

  const folders = h('nav', { class: 'inbox-folders', aria: { label: 'Folders' } }, h('p', { class: 'muted' }, 'Loading…'));
  const list = h('div', { class: 'inbox-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const reader = h('article', { class: 'inbox-reader' }, h('p', { class: 'empty' }, 'Choose a message to read it.'));
  const head = h(
    'div',
    { class: 'view-head' },
    h('h2', null, 'Mail'),
    h('p', { class: 'muted' }, 'Your mailbox as SMTP delivered it and POP3 and IMAP serve it: the text, the HTML (shown safely), every header and the source.'),
  );
  replace(el, head, h('div', { class: 'inbox' }, folders, list, reader));

  void getJson<{ user: string; folders: FolderInfo[]; mailboxes?: string[] }>(api('folders'))
    .then((f) => {
      const picker =
        f.mailboxes !== undefined
          ? h(
              'label',
              { class: 'inbox-mailbox' },
              'Mailbox ',
              (() => {
                const s = h('select', { onchange: (e) => navigate(`#/mail?user=${encodeURIComponent((e.target as HTMLSelectElement).value)}`) });
                for (const m of f.mailboxes.includes(f.user) ? f.mailboxes : [f.user, ...f.mailboxes]) {
                  const o = h('option', { value: m }, m);
                  if (m === f.user) o.selected = true;
                  s.append(o);
                }
                return s;
              })(),
            )
          : h('p', { class: 'inbox-owner' }, h('b', null, f.user));
      replace(
        folders,
        picker,
        h(
          'ul',
          null,
          f.folders.map((x) =>
            h(
              'li',
              null,
              h(
                'a',
                { href: link({ folder: x.name, uid: '' }), class: x.name === folder ? 'active' : '', aria: x.name === folder ? { current: 'page' } : {} },
                h('span', { class: 'name' }, x.name),
                h(
                  'span',
                  { class: 'count', title: `${x.messages} message(s), ${x.unseen} unread` },
                  x.unseen > 0 ? `${x.unseen}/${x.messages}` : String(x.messages),
                ),
              ),
            ),
          ),
        ),
      );
    })
    .catch((e: Error) => replace(folders, h('p', { class: 'error' }, e.message)));

  void getJson<{ total: number; messages: ListItem[] }>(api('list'))
    .then((l) => {
      if (l.messages.length === 0) {
        replace(list, h('p', { class: 'empty' }, `${folder} is empty. Send yourself a message (Thunderbird, mutt, swaks, nodemailer) and it appears here.`));
        return;
      }
      replace(
        list,
        h('p', { class: 'muted inbox-total' }, l.total > l.messages.length ? `the newest ${l.messages.length} of ${l.total}` : `${l.total} message(s)`),
        h(
          'ul',
          { class: 'inbox-messages' },
          l.messages.map((m) =>
            h(
              'li',
              { class: `${String(m.uid) === uid ? 'active' : ''} ${m.seen ? 'seen' : 'unseen'}`, data: { uid: String(m.uid) } },
              h(
                'a',
                { href: link({ uid: m.uid }) },
                h('span', { class: 'from' }, m.from || '(no sender)'),
                h('span', { class: 'date' }, when(m.date ?? m.receivedAt)),
                h('span', { class: 'subject' }, m.subject || '(no subject)'),
              ),
            ),
          ),
        ),
      );
    })
    .catch((e: Error) => replace(list, h('p', { class: 'error' }, e.message)));

  if (uid !== '') {
    replace(reader, h('p', { class: 'muted' }, 'Loading…'));
    void getJson<MessageInfo>(api('message', { uid }))
      .then((m) => replace(reader, ...readMessage(m, show, link, api)))
      .catch((e: Error) => replace(reader, h('p', { class: 'error' }, e.message)));
  }
  return el;
}

interface MimeNode {
  type: string;
  params: Record<string, string>;
  encoding: string;
  disposition: string | null;
  filename: string | null;
  size: number;
  children: MimeNode[];
  note?: string;
}

/** What a student should take from a part's type and encoding. */
const EXPLAIN: Record<string, string> = {
  'multipart/alternative': 'the same content in several forms; a client shows the last one it can',
  'multipart/mixed': 'a body followed by attachments',
  'multipart/related': 'an HTML body with the images it shows (cid: links)',
  'multipart/signed': 'a body and its signature',
  'message/rfc822': 'a whole message inside this one',
  base64: 'base64: 4 characters carry 3 octets',
  'quoted-printable': 'quoted-printable: ASCII as is, other octets as =XX',
  '8bit': '8bit: octets beyond ASCII sent as they are',
};

function mimeNode(n: MimeNode): HTMLElement {
  const facts = [n.params.charset && `charset ${n.params.charset}`, n.encoding, n.disposition, n.filename && `“${n.filename}”`, bytes(n.size)].filter(
    (x): x is string => typeof x === 'string' && x !== '',
  );
  const why = EXPLAIN[n.type] ?? EXPLAIN[n.encoding];
  return h(
    'li',
    { data: { type: n.type } },
    h('span', { class: 'mime-type' }, n.type),
    ' ',
    h('span', { class: 'muted' }, facts.join(' · ')),
    why && h('div', { class: 'mime-why' }, why),
    n.note && h('div', { class: 'error' }, n.note),
    n.children.length > 0 && h('ul', null, n.children.map(mimeNode)),
  );
}

function readMessage(
  m: MessageInfo,
  show: Show,
  link: (o: { show: Show }) => string,
  api: (what: string, extra?: Record<string, string>) => string,
): HTMLElement[] {
  const row = (label: string, value: string): HTMLElement | false => value !== '' && h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value));
  const top = h(
    'header',
    { class: 'inbox-head' },
    h('h3', { class: 'inbox-subject' }, m.subject || '(no subject)'),
    h('dl', null, row('From', m.from), row('To', m.to), row('Cc', m.cc), row('Date', m.date ? new Date(m.date).toLocaleString() : '')),
  );
  const tabs = h(
    'nav',
    { class: 'inbox-tabs', aria: { label: 'How to show the message' } },
    SHOWS.map((s) =>
      h(
        'a',
        { href: link({ show: s }), class: s === show ? 'active' : '', aria: s === show ? { current: 'page' } : {}, data: { show: s } },
        {
          text: 'Text',
          html: m.hasHtml ? 'HTML' : 'HTML (none)',
          structure: 'MIME structure',
          headers: `Headers (${m.headerCount})`,
          source: `Source (${bytes(m.size)})`,
        }[s],
      ),
    ),
  );
  const attachments =
    m.attachments.length > 0 &&
    h(
      'div',
      { class: 'inbox-attachments' },
      h('h4', null, `Attachments (${m.attachments.length})`),
      h(
        'ul',
        null,
        m.attachments.map((a) => {
          const name = a.filename ?? `attachment-${a.index}`;
          const anchor = h('a', { href: api('attachment', { uid: String(m.uid), n: String(a.index) }) }, name);
          anchor.setAttribute('download', name);
          return h('li', null, anchor, h('span', { class: 'muted' }, ` ${a.contentType}, ${bytes(a.size)}${a.inline ? ', inline' : ''}`));
        }),
      ),
    );
  let body: HTMLElement;
  switch (show) {
    case 'html': {
      if (!m.hasHtml) {
        body = h('p', { class: 'empty' }, 'This message has no HTML part: it is plain text only.');
        break;
      }
      const frame = document.createElement('iframe');
      // No allow-scripts, no allow-same-origin: the mail cannot run code or reach the lab's cookies.
      frame.setAttribute('sandbox', '');
      frame.setAttribute('referrerpolicy', 'no-referrer');
      frame.setAttribute('title', 'The HTML part of the message');
      frame.className = 'inbox-html';
      frame.src = api('html', { uid: String(m.uid) });
      body = h(
        'div',
        null,
        h(
          'p',
          { class: 'inbox-safety' },
          'Shown in a sandbox: scripts, forms and remote content are blocked',
          m.remoteReferences > 0
            ? ` (${m.remoteReferences} remote reference${m.remoteReferences === 1 ? '' : 's'} not loaded, so the sender cannot tell you read it)`
            : '',
          '.',
        ),
        frame,
      );
      break;
    }
    case 'headers':
      body = h(
        'table',
        { class: 'inbox-headers' },
        h(
          'tbody',
          null,
          m.headers.map((x) => h('tr', null, h('th', null, x.name), h('td', null, x.value))),
        ),
        m.headerCount > m.headers.length && h('tr', null, h('td', { colspan: 2, class: 'muted' }, `… and ${m.headerCount - m.headers.length} more`)),
      );
      break;
    case 'structure': {
      const box = h('div', { class: 'inbox-structure' }, h('p', { class: 'muted' }, 'Loading…'));
      void getJson<{ tree: MimeNode; encodedWords: Array<{ name: string; raw: string; decoded: string }> }>(api('structure', { uid: String(m.uid) }))
        .then((s) =>
          replace(
            box,
            h('ul', { class: 'mime-tree' }, mimeNode(s.tree)),
            s.encodedWords.length > 0 && [
              h('h4', null, 'Encoded words (RFC 2047): header text beyond ASCII'),
              h(
                'table',
                { class: 'inbox-headers' },
                h(
                  'tbody',
                  null,
                  s.encodedWords.map((w) => [
                    h('tr', null, h('th', null, w.name), h('td', null, h('code', null, w.raw))),
                    h('tr', null, h('th', { class: 'muted' }, 'decoded'), h('td', null, w.decoded)),
                  ]),
                ),
              ),
            ],
          ),
        )
        .catch((e: Error) => replace(box, h('p', { class: 'error' }, e.message)));
      body = box;
      break;
    }
    case 'source': {
      const pre = h('pre', { class: 'inbox-source' }, 'Loading…');
      void fetch(api('raw', { uid: String(m.uid) }), { credentials: 'same-origin' }).then(async (r) => {
        pre.textContent = r.ok ? await r.text() : `The server answered ${r.status}.`;
        if (r.headers.get('x-source-cut') === 'yes') pre.append(`\n… cut here: the message has ${r.headers.get('x-source-octets') ?? 'more'} octets`);
      });
      body = pre;
      break;
    }
    default:
      body = m.text !== '' ? h('pre', { class: 'inbox-text' }, m.text) : h('p', { class: 'empty' }, m.hasHtml ? 'No plain-text part: see HTML.' : 'No text.');
  }
  return [top, tabs, h('div', { class: 'inbox-body', data: { show } }, body), attachments || h('span')];
}
