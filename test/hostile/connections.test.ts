// Connection caps hold per process and per remote address across all listeners (core/connection-budget.ts):
// one address spreading its connections over SMTP, POP3, IMAP, HTTP and the implicit-TLS ports (with
// handshakes never finished) gets no more than limits.maxConnectionsPerAddress in all; each protocol
// refuses the next one in its own words (421, -ERR, * BYE, 503), a notice says so, and a client from
// another address is neither refused nor stalled. Before: the cap was per listener, so one address
// could hold listeners x 100 connections (about 1,000 descriptors with ten listeners).
import test from 'ava';
import * as net from 'node:net';
import { startLabProcess } from '../support/lab-process.js';
import { LineClient } from '../support/line-client.js';
import { acceptedAll, ATTACKER, connectFrom, Watcher, WATCHER } from './helpers.js';

const CAP = 24;

function rawConnect(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.once('error', reject);
  });
}

/** What a refused plain connection reads before the server closes it. */
async function refusal(port: number): Promise<string> {
  const c = await connectFrom(port, ATTACKER);
  return (await c.rest(5000)).trim();
}

test('one address is capped across every listener, TLS handshakes in progress included; each protocol refuses in its words; another address is not', async (t) => {
  const lab = await startLabProcess({ only: ['smtp', 'pop3', 'imap', 'http'], config: { limits: { maxConnectionsPerAddress: CAP } } });
  const held: Array<LineClient | net.Socket> = [];
  try {
    const watcher = await Watcher.smtp(lab.port('smtp'));
    // Spread over the plain listeners: a greeting each.
    const plain = ['smtp', 'pop3', 'imap'] as const;
    for (let i = 0; i < 12; i++) {
      const c = await connectFrom(lab.port(plain[i % 3]), ATTACKER);
      t.truthy(await c.line(), 'greeting');
      held.push(c);
    }
    // And over the implicit-TLS listeners, never sending a ClientHello: the handshakes count.
    const tlsPorts = [lab.port('smtp', 'smtps'), lab.port('pop3', 'pop3s'), lab.port('imap', 'imaps'), lab.port('http', 'https')];
    for (let i = 0; i < CAP - 12; i++) held.push(await rawConnect(tlsPorts[i % tlsPorts.length], ATTACKER));
    // The process has taken every queued connection (then the next ones are refused, whatever the order).
    await acceptedAll(tlsPorts);
    // Every listener now refuses this address, in its own words.
    t.regex(await refusal(lab.port('smtp')), /^421 4\.\d\.\d /);
    t.regex(await refusal(lab.port('pop3')), /^-ERR \[SYS\/TEMP\] /);
    t.regex(await refusal(lab.port('imap')), /^\* BYE /);
    const http = await connectFrom(lab.port('http'), ATTACKER);
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    t.regex(await http.rest(5000), /^HTTP\/1\.1 503 /);
    // An implicit-TLS port closes without a handshake.
    const tlsRefused = await rawConnect(lab.port('imap', 'imaps'), ATTACKER);
    await new Promise<void>((resolve) => tlsRefused.once('close', () => resolve()));
    // Another address is served at once, on any listener.
    const other = await connectFrom(lab.port('imap'), WATCHER);
    t.regex((await other.line()) ?? '', /^\* OK/);
    other.end();
    // A slot freed on one listener is usable on another.
    (held.pop() as net.Socket).destroy();
    let reopened: string | null = null;
    for (let i = 0; i < 50 && !reopened?.startsWith('220'); i++) {
      const c = await connectFrom(lab.port('smtp'), ATTACKER);
      reopened = await c.line();
      if (reopened?.startsWith('220')) held.push(c);
      else await new Promise((r) => setTimeout(r, 100));
    }
    t.regex(reopened ?? '', /^220 /);
    await watcher.stop();
    t.deepEqual(watcher.failures, []);
    t.true(watcher.maxLatencyMs < 2000);
    t.log(
      `cap ${CAP} per address across ${Object.keys(lab.ports).filter((k) => k.includes('/')).length} listeners; watcher's longest wait ${watcher.maxLatencyMs.toFixed(0)} ms`,
    );
    // One notice per address per 10 s, not one per refused connection.
    const notices = lab
      .stdout()
      .split('\n')
      .filter((l) => l.includes('connection cap reached'));
    t.is(notices.length, 1, notices.join('\n'));
    t.regex(notices[0], /127\.0\.0\.1.*per-address connection cap reached \(all listeners\)/);
  } finally {
    for (const h of held) (h instanceof LineClient ? h.socket : h).destroy();
    await lab.stop();
    lab.cleanup();
  }
});
