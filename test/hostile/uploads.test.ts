// The upload area is writable by every student and lives on the origin they are told to trust: what
// is uploaded must never run script there. Against the real process: an HTML page and an SVG with
// script are uploaded, then fetched back: a sandbox CSP, nosniff and (for active types) an attachment.
// Before: served as text/html and image/svg+xml with no such fields, running in the lab's origin.
import test from 'ava';
import { startLabProcess } from '../support/lab-process.js';

test('uploads are served passive: sandbox CSP, nosniff, active types as attachments; the document root is not', async (t) => {
  const lab = await startLabProcess({ only: ['http'] });
  try {
    const base = `http://127.0.0.1:${lab.port('http')}`;
    const files: Record<string, string> = {
      'evil.html': '<script>document.cookie</script>',
      'evil.svg': '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      'notes.txt': 'hello',
    };
    for (const [name, body] of Object.entries(files)) {
      const put = await fetch(`${base}/upload/${name}`, {
        method: 'PUT',
        body,
        headers: { authorization: `Basic ${Buffer.from('alice:alice-lab').toString('base64')}` },
      });
      t.true(put.status === 201 || put.status === 204, `PUT ${name}: ${put.status}`);
    }
    for (const name of Object.keys(files)) {
      const r = await fetch(`${base}/upload/${name}`);
      t.is(r.status, 200);
      await r.arrayBuffer();
      t.is(r.headers.get('x-content-type-options'), 'nosniff', name);
      t.regex(r.headers.get('content-security-policy') ?? '', /^sandbox;/, name);
      if (name === 'notes.txt') t.is(r.headers.get('content-disposition'), null);
      else t.is(r.headers.get('content-disposition'), 'attachment', name);
    }
    const home = await fetch(`${base}/`);
    await home.arrayBuffer();
    t.is(home.headers.get('content-security-policy'), null, "the lab's own pages keep working as before");
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

test('a documentRoot that contains the data directory is refused at start-up, naming the key', async (t) => {
  const err = await t.throwsAsync(startLabProcess({ only: ['http'], config: { services: { http: { documentRoot: '..' } } }, timeoutMs: 10_000 }));
  t.regex(err.message, /documentRoot .* contains the data directory/);
});
