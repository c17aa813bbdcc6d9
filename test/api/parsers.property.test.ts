// Property tests for what the test-suite API parses or builds from hostile input: message content
// (mailparser behind parseContent), queries and mailbox names, query strings, and the header values
// built from attachment names and types.
import test from 'ava';
import fc from 'fast-check';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { Accounts } from '../../core/auth.js';
import type { LabnetConfig } from '../../core/config.js';
import { LabnetError } from '../../core/errors.js';
import type { HttpExchange } from '../../core/http/exchange.js';
import { checkUserName, type MessageInfo } from '../../core/mail-store/index.js';
import { mailboxOf, MessageMatcher } from '../../core/mail-api/match.js';
import { loadMime } from '../../core/mail-api/mime-lib.js';
import { parseContent } from '../../core/mail-api/parse-message.js';
import { ApiProblem, contentDisposition, queryParams, safeContentType } from '../../core/mail-api/rest/http-json.js';

test.before(async () => {
  await loadMime();
});

const accounts = new Accounts({ domain: 'lab.test', hostname: 'labnet.lab.test', users: [{ name: 'alice', password: 'pw' }], testMode: false } as LabnetConfig);

test('contentDisposition: any file name gives one printable ASCII header value whose filename* decodes back', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (name) => {
      const v = contentDisposition(name);
      if (!/^[\x20-\x7e]+$/.test(v)) return false;
      const m = /filename\*=UTF-8''(.*)$/.exec(v);
      if (!m) return false;
      const back = decodeURIComponent(m[1]);
      const wellFormed = !/[\uD800-\uDFFF]/.test(name.slice(0, 200));
      return !wellFormed || back === name.slice(0, 200);
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('safeContentType: a header-safe media type or application/octet-stream', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (type) => {
      const v = safeContentType(type);
      return v === 'application/octet-stream' || (v === type && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(v));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('queryParams: any query string gives bounded values of the allowed keys or an ApiProblem 400', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (query) => {
      const ex = { req: { query } } as unknown as HttpExchange;
      try {
        const params = queryParams(ex, ['user', 'subject']);
        return [...params.keys()].every((k) => k === 'user' || k === 'subject') && [...params.values()].every((v) => v.length <= 1024);
      } catch (err) {
        return err instanceof ApiProblem && err.status === 400;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('mailboxOf and queries: any input is a valid mailbox name or a LabnetError INVALID_QUERY; matching never throws', (t) => {
  const info = (headers: Record<string, string>): MessageInfo => ({
    uid: 1,
    uniqueName: 'x',
    uidl: 'x',
    size: 1,
    internalDate: 0,
    flags: [],
    headers,
    modseq: 1,
  });
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      (name, subject, from) => {
        try {
          checkUserName(mailboxOf(name, accounts, 'catchall'));
        } catch (err) {
          if (!(err instanceof LabnetError) || err.code !== 'INVALID_QUERY') return false;
        }
        try {
          const m = new MessageMatcher({ to: name, subject, from }, accounts, 'catchall');
          m.index(info({ subject, from, to: name }));
          m.content(subject, [{ name: 'To', value: name }]);
        } catch (err) {
          if (!(err instanceof LabnetError) || err.code !== 'INVALID_QUERY') return false;
        }
        return true;
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});

test('parseContent: random octets and mangled MIME never throw and always give the documented shape', async (t) => {
  const base = await new MailComposer({
    from: '"Zoë" <z@example.com>',
    to: 'alice@lab.test',
    subject: 'ünïcode',
    text: 'text part',
    html: '<p>html</p>',
    attachments: [{ filename: 'a.bin', content: Buffer.from([0, 1, 2, 255]) }],
  })
    .compile()
    .build();
  const mangled = fc
    .tuple(fc.nat({ max: base.length }), fc.nat({ max: 200 }), fc.uint8Array({ maxLength: 200 }))
    .map(([at, cut, insert]) => Buffer.concat([base.subarray(0, at), Buffer.from(insert), base.subarray(Math.min(base.length, at + cut))]));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
        mangled,
      ),
      async (raw) => {
        const p = await parseContent(raw);
        return (
          typeof p.subject === 'string' &&
          typeof p.text === 'string' &&
          (p.html === null || typeof p.html === 'string') &&
          Array.isArray(p.from.value) &&
          typeof p.to.text === 'string' &&
          p.attachments.every((a) => Buffer.isBuffer(a.content) && a.size === a.content.length && typeof a.contentType === 'string') &&
          p.headers.every((h) => typeof h.name === 'string' && typeof h.value === 'string') &&
          (p.date === null || !Number.isNaN(p.date.getTime()))
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
