// The bare-handle TCP transport (core/raw-tcp.ts) against real kernel sockets from node:net clients.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { RawEvents, RawTcpListener, rawTcpAvailable, type RawTcpSocket } from '../../core/raw-tcp.js';

interface Harness {
  port: number;
  accepted: RawTcpSocket[];
  next(): Promise<RawTcpSocket>;
  close(): Promise<void>;
}

function listen(address = '127.0.0.1'): Harness {
  const accepted: RawTcpSocket[] = [];
  const waiting: Array<(s: RawTcpSocket) => void> = [];
  const l = new RawTcpListener(
    (s) => {
      s.on('error', () => {});
      accepted.push(s);
      const w = waiting.shift();
      if (w) w(s);
    },
    () => {},
  );
  l.listen(address, 0, 16);
  let taken = 0;
  return {
    port: l.port,
    accepted,
    next: () => (taken < accepted.length ? Promise.resolve(accepted[taken++]) : new Promise((r) => waiting.push((s) => (taken++, r(s))))),
    close: () => new Promise((r) => l.close(r)),
  };
}

/** A listener, a client connected to it, and the accepted socket (not reading yet). */
async function connected(): Promise<{ h: Harness; c: Socket; s: RawTcpSocket }> {
  const h = listen();
  const c = await client(h.port);
  return { h, c, s: await h.next() };
}

function client(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open allowed: the client closes its side only when a test says so.
    const c = connect({ port, host, allowHalfOpen: true }, () => resolve(c));
    c.once('error', reject);
  });
}

function readAll(c: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => resolve(Buffer.concat(parts)));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const once = <T = unknown>(e: { once(name: string, fn: (v: any) => void): unknown }, name: string): Promise<T> =>
  new Promise((r) => e.once(name, (v: T) => r(v)));

test('the event store: listeners in order, once runs once, off removes (also a once by its function)', (t) => {
  const e = new RawEvents();
  const seen: string[] = [];
  const a = (v: unknown): void => void seen.push(`a${String(v)}`);
  const b = (v: unknown): void => void seen.push(`b${String(v)}`);
  const c = (v: unknown): void => void seen.push(`c${String(v)}`);
  e.on('data', a);
  e.once('data', b);
  e.on('data', c);
  t.true(e.emit('data', 1));
  t.true(e.emit('data', 2));
  t.deepEqual(seen, ['a1', 'b1', 'c1', 'a2', 'c2']);
  e.off('data', a);
  e.once('close', b);
  e.off('close', b);
  t.false(e.emit('close', 3));
  t.true(e.emit('data', 4));
  t.deepEqual(seen.slice(5), ['c4']);
  t.is(e.listenerCount('data'), 1);
  // A listener removed while an event is being emitted still runs this time (EventEmitter does too).
  e.on('end', () => e.off('end', b));
  e.on('end', b);
  e.emit('end', 5);
  t.deepEqual(seen.slice(6), ['b5']);
  t.is(e.listenerCount('end'), 1);
  t.false(e.emit('error', new Error('nobody listens')), 'an unheard error is dropped, not thrown');
});

test.serial('available on this Node', (t) => {
  t.true(rawTcpAvailable());
});

test.serial('accepts, knows both ends, reads what the client sends and writes back', async (t) => {
  const { h, c, s } = await connected();
  t.is(s.remoteAddress, '127.0.0.1');
  t.is(s.remotePort, c.localPort);
  t.is(s.localPort, h.port);
  t.is(s.localAddress, '127.0.0.1');
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => {
    got.push(Buffer.from(d));
    s.write(Buffer.from(`echo:${d.toString()}`));
  });
  s.start();
  c.write('hello');
  const back = await once<Buffer>(c, 'data');
  t.is(back.toString(), 'echo:hello');
  t.is(Buffer.concat(got).toString(), 'hello');
  // The client closes; the owner ends its side and the socket is gone at once.
  const ended = once(s, 'end');
  c.destroy();
  await ended;
  const closed = once(s, 'close');
  s.end();
  await closed;
  t.true(s.destroyed);
  await h.close();
});

test.serial('cork/uncork sends the pieces as one write, in order', async (t) => {
  const { h, c, s } = await connected();
  s.start();
  s.cork();
  s.write('one ');
  s.write(Buffer.from('two '));
  s.write('three');
  s.uncork();
  s.end();
  const all = readAll(c);
  t.is((await all).toString(), 'one two three');
  c.end();
  await once(s, 'close');
  await h.close();
});

test.serial('end() half-closes: the client sees EOF, the socket closes when the client does', async (t) => {
  const { h, c, s } = await connected();
  s.start();
  let closed = false;
  s.on('close', () => (closed = true));
  const got: string[] = [];
  s.on('data', (d: Buffer) => got.push(d.toString()));
  s.end('bye');
  t.is((await readAll(c)).toString(), 'bye');
  // Still open, waiting for the client's FIN: it still reads what the client sends.
  const more = once(s, 'data');
  c.write('still here');
  await more;
  t.deepEqual(got, ['still here']);
  t.false(closed);
  c.end();
  await once(s, 'close');
  t.true(closed);
  await h.close();
});

test.serial('a peer that half-closes still gets what the owner writes afterwards', async (t) => {
  const { h, c, s } = await connected();
  s.on('data', () => {});
  s.start();
  const ended = once(s, 'end');
  c.end('request');
  await ended;
  t.false(s.destroyed, 'the socket stays open for the answer');
  const all = readAll(c);
  await new Promise((r) => setImmediate(r));
  const closed = once(s, 'close');
  s.end('late answer');
  t.is((await all).toString(), 'late answer');
  await closed;
  await h.close();
});

test.serial('endNow() closes as soon as the data is out', async (t) => {
  const { h, c, s } = await connected();
  s.start();
  const closing = once(s, 'close');
  s.endNow();
  await closing;
  t.true(s.destroyed);
  await h.close();
  c.destroy();
});

test.serial('backpressure: writes past the high-water mark report a full buffer, drain arrives, nothing is lost', async (t) => {
  const h = listen();
  const c = await client(h.port);
  c.pause();
  const s = await h.next();
  s.start();
  const chunk = Buffer.alloc(256 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  let writes = 0;
  let full = false;
  // Up to 64 MB: the kernel buffers fill long before.
  while (writes < 256) {
    writes++;
    if (!s.write(chunk)) {
      full = true;
      break;
    }
  }
  t.true(full, 'write() returned false once the kernel stopped taking data');
  t.true(s.writableNeedDrain);
  t.true(s.writableLength > 0);
  const drained = once(s, 'drain');
  const all = readAll(c);
  c.resume();
  await drained;
  t.false(s.writableNeedDrain);
  t.is(s.writableLength, 0);
  s.end();
  const data = await all;
  t.is(data.length, writes * chunk.length);
  t.is(s.bytesWritten, writes * chunk.length);
  for (let w = 0; w < writes; w++) t.is(Buffer.compare(data.subarray(w * chunk.length, (w + 1) * chunk.length), chunk), 0);
  c.end();
  await once(s, 'close');
  await h.close();
});

test.serial('pause() stops reading, resume() reads what arrived meanwhile', async (t) => {
  const { h, c, s } = await connected();
  // A second connection that keeps reading: once it has received what its client sent after the
  // first client's write, the loop has had the chance to read the paused socket too.
  const control = await client(h.port);
  const cs = await h.next();
  cs.start();
  const got: string[] = [];
  s.on('data', (d: Buffer) => got.push(d.toString()));
  s.start();
  s.pause();
  await new Promise<void>((r) => c.write('while paused', () => r()));
  const seen = once(cs, 'data');
  control.write('control');
  await seen;
  // The rest of that turn of the loop (its other reads) has run too.
  await new Promise((r) => setImmediate(r));
  t.deepEqual(got, []);
  const resumed = once(s, 'data');
  s.resume();
  await resumed;
  t.is(got.join(''), 'while paused');
  const closed = Promise.all([once(s, 'close'), once(cs, 'close')]);
  s.destroy();
  cs.destroy();
  await closed;
  c.destroy();
  control.destroy();
  await h.close();
});

test.serial('setTimeout emits timeout after the idle time (one shared sweep), activity postpones it', async (t) => {
  const { h, c, s } = await connected();
  s.on('data', () => {});
  s.start();
  const started = Date.now();
  s.setTimeout(1_000);
  // Activity at 600 ms pushes the deadline to at least 1,600 ms.
  setTimeout(() => c.write('x'), 600);
  await once(s, 'timeout');
  const elapsed = Date.now() - started;
  t.true(elapsed >= 1_500, `timed out after ${elapsed} ms`);
  t.true(elapsed < 4_000, `timed out after ${elapsed} ms`);
  const closed = once(s, 'close');
  s.destroy();
  await closed;
  c.destroy();
  await h.close();
});

test.serial('several clients sending at once: every socket gets exactly its own octets (reads share one buffer)', async (t) => {
  const h = listen();
  const payloads = [0, 1, 2, 3].map(() => randomBytes(3 * 1024 * 1024 + 17));
  const clients = await Promise.all(payloads.map(() => client(h.port)));
  const received: Buffer[][] = [];
  const done: Array<Promise<unknown>> = [];
  for (let i = 0; i < clients.length; i++) {
    const s = await h.next();
    const parts: Buffer[] = [];
    received.push(parts);
    // Keep what arrives (as a framer that buffers partial input would) and read it only at the end.
    s.on('data', (d: Buffer) => parts.push(d));
    done.push(once(s, 'end'));
    s.start();
  }
  // Interleaved writes in uneven pieces from every client.
  const offsets = clients.map(() => 0);
  while (offsets.some((o, i) => o < payloads[i].length)) {
    clients.forEach((c, i) => {
      const step = 50_000 + i * 7_777;
      c.write(payloads[i].subarray(offsets[i], offsets[i] + step));
      offsets[i] += step;
    });
  }
  for (const c of clients) c.end();
  await Promise.all(done);
  // The accepted order may differ from the connect order: match by content.
  const got = received.map((parts) => Buffer.concat(parts));
  for (const p of payloads)
    t.true(
      got.some((g) => g.equals(p)),
      'a payload arrived intact on one socket',
    );
  for (const s of h.accepted) s.destroy();
  for (const c of clients) c.destroy();
  await h.close();
});

test.serial('a reset from the client closes the socket without crashing', async (t) => {
  const { h, c, s } = await connected();
  s.on('data', () => {});
  s.start();
  const closed = once<boolean>(s, 'close');
  c.resetAndDestroy();
  await closed;
  t.true(s.destroyed);
  t.false(s.write('after close'));
  await h.close();
});

test.serial('a port in use fails with EADDRINUSE', async (t) => {
  const other = createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const port = (other.address() as { port: number }).port;
  const l = new RawTcpListener(
    () => {},
    () => {},
  );
  const err = t.throws<NodeJS.ErrnoException>(() => l.listen('127.0.0.1', port, 16));
  t.is(err.code, 'EADDRINUSE');
  await new Promise((r) => other.close(r));
});

test.serial('IPv6 loopback works too', async (t) => {
  let h: Harness;
  try {
    h = listen('::1');
  } catch {
    t.pass('no IPv6 loopback here');
    return;
  }
  const c = await client(h.port, '::1');
  const s = await h.next();
  t.is(s.remoteAddress, '::1');
  s.start();
  s.end('v6');
  t.is((await readAll(c)).toString(), 'v6');
  c.end();
  await once(s, 'close');
  await h.close();
});
