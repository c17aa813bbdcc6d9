// Links from the other views to the captured frames: a session's transcript to its flow, a DHCP
// ladder entry to the frame that carried it.
import { API, getJson } from './capture.js';
import type { FrameLine } from './capture-types.js';
import { h } from './dom.js';

/** "Frames": the session's connection in the packet view. */
export function sessionFramesLink(session: string): HTMLElement {
  return h(
    'a',
    { href: `#/packets?session=${encodeURIComponent(session)}`, class: 'tool frames-link', title: 'the frames of this connection, layer by layer' },
    'Frames',
  );
}

/** A DHCP message's frame in the packet view (looked up when shown: the capture may be off). */
export function dhcpFrameLink(mac: string, xid: string, t: number, fromClient: boolean): HTMLElement {
  const el = h('span', { class: 'frame-link muted' });
  getJson<{ frames: FrameLine[] }>(`${API}/frames?mac=${encodeURIComponent(mac)}&xid=${encodeURIComponent(xid)}`)
    .then(({ frames }) => {
      const same = frames.filter((f) => (f.from === undefined ? true : (f.from === 'client') === fromClient));
      const best = (same.length > 0 ? same : frames).reduce<FrameLine | undefined>(
        (b, f) => (!b || Math.abs(f.time - t) < Math.abs(b.time - t) ? f : b),
        undefined,
      );
      if (!best || !best.flow) return;
      el.replaceChildren(h('a', { href: `#/packets/${best.flow}/${best.id}`, class: 'button-link' }, `Frame ${best.id}: its Ethernet, IPv4 and UDP headers`));
    })
    .catch(() => {
      // No capture (off, or not kept): no link.
    });
  return el;
}
