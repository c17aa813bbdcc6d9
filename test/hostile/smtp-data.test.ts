// SMTP DATA against the real process: messages made only of empty lines (the issue: ten senders of
// 20 MB of CRLF grew the process to 3.4 GB with 53 s of CPU, four never answered) now cost a few
// blocks each; and the store's refusals reach the client as the right SMTP replies (a full mailbox
// 452 4.2.2 at RCPT for that recipient alone, a message larger than the quota 552 5.2.2).
import test from 'ava';
import { startLabProcess } from '../support/lab-process.js';
import type { LineClient } from '../support/line-client.js';
import { ATTACKER, connectFrom, rssKb, watcherProcess } from './helpers.js';

async function ehlo(c: LineClient): Promise<void> {
  await c.line();
  c.write('EHLO attacker\r\n');
  for (let l = await c.line(); l !== null && !l.startsWith('250 '); l = await c.line());
}

async function command(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return (await c.line(60_000)) ?? '<closed>';
}

test('DATA of nothing but empty lines from 8 parallel senders: every one answered, RSS bounded, a watcher never stalled', async (t) => {
  const lab = await startLabProcess({ only: ['smtp'] });
  try {
    const watch = await watcherProcess(lab.port('smtp'));
    const rss0 = rssKb(lab.proc.pid!);
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(lab.proc.pid!))), 50);
    const MB = 8;
    const SENDERS = Number(process.env.HOSTILE_SENDERS ?? 8);
    const block = Buffer.from('\r\n'.repeat(32 * 1024));
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        const c = await connectFrom(lab.port('smtp'), ATTACKER);
        await ehlo(c);
        await command(c, 'MAIL FROM:<x@lab.test>');
        await command(c, 'RCPT TO:<alice@lab.test>');
        const go = await command(c, 'DATA');
        if (!go.startsWith('354')) return go;
        for (let sent = 0; sent < MB * 1024 * 1024; sent += block.length) {
          if (!c.socket.write(block)) await new Promise((r) => c.socket.once('drain', r));
        }
        const done = await command(c, '.');
        c.end();
        return done;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const watcher = await watch.stop();
    const growthMb = (peak - rss0) / 1024;
    t.log(
      `8 x ${MB} MB of CRLF in ${seconds.toFixed(1)} s; RSS ${(rss0 / 1024).toFixed(0)} MB -> peak ${(peak / 1024).toFixed(0)} MB (+${growthMb.toFixed(0)} MB); watcher's longest wait ${watcher.maxLatencyMs.toFixed(0)} ms`,
    );
    for (const a of answers) t.regex(a, /^250 /);
    t.deepEqual(watcher.failures, []);
    t.true(watcher.maxLatencyMs < 2000, `watcher waited ${watcher.maxLatencyMs} ms`);
    // 64 MB of content arrives; the process holds each message once (as blocks), not an array per line.
    t.true(growthMb < 400, `RSS grew by ${growthMb} MB`);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

test('store refusals: a full mailbox is 452 4.2.2 at RCPT for that recipient only; a message larger than the quota is 552 5.2.2', async (t) => {
  const lab = await startLabProcess({ only: ['smtp'], config: { mailStore: { quota: { maxMessages: 2, maxBytes: 64 * 1024 } } } });
  try {
    const c = await connectFrom(lab.port('smtp'), ATTACKER);
    await ehlo(c);
    for (let i = 0; i < 2; i++) {
      t.regex(await command(c, 'MAIL FROM:<x@lab.test>'), /^250/);
      t.regex(await command(c, 'RCPT TO:<alice@lab.test>'), /^250/);
      t.regex(await command(c, 'DATA'), /^354/);
      t.regex(await command(c, `Subject: ${i}\r\n\r\nhello\r\n.`), /^250 /);
    }
    t.regex(await command(c, 'MAIL FROM:<x@lab.test>'), /^250/);
    t.is(await command(c, 'RCPT TO:<alice@lab.test>'), '452 4.2.2 Mailbox full (over quota), try again later');
    t.regex(await command(c, 'RCPT TO:<bob@lab.test>'), /^250/);
    t.regex(await command(c, 'DATA'), /^354/);
    t.regex(await command(c, 'Subject: to bob only\r\n\r\nhi\r\n.'), /^250 /);
    // Larger than bob's whole byte quota: permanent.
    t.regex(await command(c, 'MAIL FROM:<x@lab.test>'), /^250/);
    t.regex(await command(c, 'RCPT TO:<bob@lab.test>'), /^250/);
    t.regex(await command(c, 'DATA'), /^354/);
    t.is(await command(c, `Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(80) + '.'), '552 5.2.2 Message larger than the mailbox quota');
    t.regex(await command(c, 'QUIT'), /^221/);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
