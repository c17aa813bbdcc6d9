// MailApi (TOKENS.MailApi): reading the mail store back for test suites and the REST API. Messages
// come parsed (mailparser), located by mailbox, folder and UID; `waitFor` waits without a race; purge
// and delete go through the store's expunge, so IMAP sessions watching a folder see EXPUNGE.
// Bound by core/providers.ts with the mail store.
import 'reflect-metadata';
import { readdir } from 'node:fs/promises';
import { inject, injectable } from 'inversify';
import type { Accounts } from '../auth.js';
import type { LabnetConfig } from '../config.js';
import { LabnetError } from '../errors.js';
import { mapLimit } from '../mail-store/fs-util.js';
import { canonicalFolder, checkUserName, MailStoreError, type DeliveryNotice, type MailStore, type MessageInfo } from '../mail-store/index.js';
import { TOKENS } from '../tokens.js';
import { MAIL_API_LIMITS } from './limits.js';
import { mailboxOf, MessageMatcher, messageId, summarise } from './match.js';
import { parseContent, type ParsedContent } from './parse-message.js';
import { ParsedCache } from './parsed-cache.js';
import { loadMime } from './mime-lib.js';
import type { MessageLocation, MessageQuery, MessageSummary, ParsedMessage, WaitForOptions } from './types.js';
import { byArrival, Waiter, type Located } from './wait-for.js';

/** waitFor gave up: `arrived` holds the matching messages that did come, `others` what else arrived. */
export class WaitForTimeoutError extends LabnetError {
  constructor(
    message: string,
    readonly arrived: ParsedMessage[],
    readonly others: MessageSummary[],
  ) {
    super('WAIT_TIMEOUT', message);
    this.name = 'WaitForTimeoutError';
  }
}

const UID = /^[1-9][0-9]{0,9}$/;

/** A stored message's content key: its unique name (kept by copies) and size. */
function cacheKey(uniqueName: string, size: number): string {
  return `${uniqueName}\u0000${size}`;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Buffer.isBuffer(o) && !(o instanceof Date) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

function describeQuery(q: MessageQuery): string {
  const parts: string[] = [];
  for (const k of ['user', 'folder', 'to', 'from', 'subject', 'text'] as const) {
    const v = q[k];
    if (v !== undefined) parts.push(`${k}: ${v instanceof RegExp ? String(v) : JSON.stringify(v)}`);
  }
  return parts.length ? `{ ${parts.join(', ')} }` : 'any message';
}

@injectable()
export class MailApi {
  private readonly cache = new ParsedCache(MAIL_API_LIMITS.parsedCacheBytes, MAIL_API_LIMITS.parsedCacheMaxMessageBytes);
  /** The mailbox SMTP captures postmaster and other domains' mail in. */
  readonly catchAll: string;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.MailStore) private readonly store: MailStore,
    @inject(TOKENS.Accounts) private readonly accounts: Accounts,
  ) {
    const smtp = config.services.smtp as { catchAllMailbox?: unknown } | undefined;
    this.catchAll = typeof smtp?.catchAllMailbox === 'string' ? smtp.catchAllMailbox : 'catchall';
  }

  /** Mailboxes that exist on disk (received mail or logged in), sorted. */
  async mailboxes(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.store.root);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names.sort()) {
      if (n.startsWith('.')) continue;
      try {
        checkUserName(n);
      } catch {
        continue;
      }
      if (await this.store.hasMailbox(n)) out.push(n);
    }
    return out;
  }

  /** The mailbox a user name or lab address is delivered to. */
  mailboxOf(nameOrAddress: string): string {
    return mailboxOf(nameOrAddress, this.accounts, this.catchAll);
  }

  matcher(query: MessageQuery = {}): MessageMatcher {
    return new MessageMatcher(query, this.accounts, this.catchAll);
  }

  /** A mailbox's folders with their message counts ([] when it has no mailbox). */
  async folderStatus(user: string): Promise<Array<{ name: string; messages: number; unseen: number; size: number }>> {
    checkUserName(user);
    if (!(await this.store.hasMailbox(user))) return [];
    const out: Array<{ name: string; messages: number; unseen: number; size: number }> = [];
    for (const f of await this.store.listFolders(user)) {
      try {
        const s = await this.store.status(user, f.name);
        out.push({ name: s.name, messages: s.messages, unseen: s.unseen, size: s.size });
      } catch (err) {
        if (!(err instanceof MailStoreError)) throw err;
      }
    }
    return out;
  }

  /** The (mailbox, folder) pairs a query looks in, existing ones only. */
  private async folders(m: MessageMatcher): Promise<Array<{ user: string; folder: string }>> {
    const users = m.scope.users ?? (await this.mailboxes());
    const out: Array<{ user: string; folder: string }> = [];
    for (const user of users) {
      if (!(await this.store.hasMailbox(user))) continue;
      if (m.scope.folder === '*') for (const f of await this.store.listFolders(user)) out.push({ user, folder: f.name });
      else out.push({ user, folder: m.scope.folder });
    }
    return out;
  }

  /** Every message matching the query, in arrival order, unparsed (the index only, plus deep checks). */
  async locate(query: MessageQuery = {}): Promise<Located[]> {
    await loadMime();
    const m = this.matcher(query);
    const found: Located[] = [];
    for (const { user, folder } of await this.folders(m)) {
      let messages: readonly MessageInfo[];
      try {
        messages = (await this.store.open(user, folder)).messages;
      } catch (err) {
        if (err instanceof MailStoreError) continue; // the folder went away meanwhile
        throw err;
      }
      for (const info of messages) if (m.index(info)) found.push({ user, folder, info });
    }
    const kept = m.deep ? await this.filterDeep(m, found) : found;
    return kept.sort(byArrival);
  }

  private async filterDeep(m: MessageMatcher, found: Located[]): Promise<Located[]> {
    const ok = await mapLimit(found, MAIL_API_LIMITS.parseConcurrency, (loc) => this.deepMatch(m, loc));
    return found.filter((_, i) => ok[i]);
  }

  private async deepMatch(m: MessageMatcher, loc: Located): Promise<boolean> {
    try {
      const { content } = await this.load(loc);
      return m.content(content.text, content.headers);
    } catch (err) {
      if (err instanceof LabnetError && err.code === 'NO_SUCH_MESSAGE') return false; // expunged meanwhile
      throw err;
    }
  }

  /** `lab.mail.messages()`: the matching messages, parsed, in arrival order. */
  async messages(query: MessageQuery = {}): Promise<ParsedMessage[]> {
    const found = await this.locate(query);
    const parsed = await mapLimit(found, MAIL_API_LIMITS.parseConcurrency, (loc) => this.parse(loc).catch(() => undefined));
    return parsed.filter((p): p is ParsedMessage => p !== undefined);
  }

  /** One message by id ('alice/INBOX/3'); LabnetError NO_SUCH_MESSAGE when there is none. */
  async message(id: string): Promise<ParsedMessage> {
    return this.parse(await this.find(id));
  }

  /** The stored octets of one message. */
  async raw(id: string): Promise<Buffer> {
    return (await this.load(await this.find(id))).raw;
  }

  /** Removes one message (IMAP sessions see it expunged). False when there was none. */
  async delete(id: string): Promise<boolean> {
    let loc: Located;
    try {
      loc = await this.find(id);
    } catch (err) {
      if (err instanceof LabnetError && err.code === 'NO_SUCH_MESSAGE') return false;
      throw err;
    }
    const removed = await this.store.expunge(loc.user, loc.folder, [loc.info.uid]);
    return removed.length > 0;
  }

  /** Removes every message of one mailbox (every folder), or of every mailbox. Returns how many. */
  async purge(user?: string): Promise<number> {
    const users = user === undefined ? await this.mailboxes() : [this.mailboxOf(user)];
    let removed = 0;
    for (const u of users) {
      if (!(await this.store.hasMailbox(u))) continue;
      for (const f of await this.store.listFolders(u)) {
        let uids: number[];
        try {
          uids = (await this.store.open(u, f.name)).messages.map((m) => m.uid);
        } catch (err) {
          if (err instanceof MailStoreError) continue;
          throw err;
        }
        if (uids.length > 0) removed += (await this.store.expunge(u, f.name, uids)).length;
      }
    }
    return removed;
  }

  /** `lab.mail.waitFor()`: see wait-for.ts. */
  async waitFor(options: WaitForOptions = {}): Promise<ParsedMessage[]> {
    await loadMime();
    const { count = 1, timeoutMs = MAIL_API_LIMITS.defaultWaitMs, ...query } = options;
    if (!Number.isInteger(count) || count < 1 || count > MAIL_API_LIMITS.maxWaitCount)
      throw new LabnetError('INVALID_QUERY', `waitFor: count must be a whole number from 1 to ${MAIL_API_LIMITS.maxWaitCount}`);
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || timeoutMs > MAIL_API_LIMITS.maxWaitMs)
      throw new LabnetError('INVALID_QUERY', `waitFor: timeoutMs must be from 0 to ${MAIL_API_LIMITS.maxWaitMs}`);
    const m = this.matcher(query);
    // Matches are parsed as they arrive, as a hand-made test double parses on receipt: at the end
    // only the last few are left to parse.
    const waiter = new Waiter(
      this.store,
      m,
      count,
      (loc) => this.deepMatch(m, loc),
      (loc) => this.prefetch(loc),
    );
    // Subscribed to deliveries before the folders are listed and scanned: nothing falls between.
    const keepFresh = this.keepFreshContent();
    const result = waiter.start(timeoutMs).finally(keepFresh);
    try {
      for (const f of await this.folders(m)) waiter.mark(f.user, f.folder);
    } catch (err) {
      waiter.cancel(err);
    }
    const { timedOut, matched, others: rest } = await result;
    if (!timedOut) return this.parseAll(matched);
    const arrived = await this.parseAll(matched);
    const others = rest.map((l) => summarise(l.user, l.folder, l.info));
    const seen = others.length ? `; other messages there: ${others.map((o) => `"${o.subject}" to ${o.user}`).join(', ')}` : '';
    throw new WaitForTimeoutError(
      `waitFor: ${arrived.length} of ${count} message${count === 1 ? '' : 's'} matching ${describeQuery(query)} within ${timeoutMs} ms${seen}`,
      arrived,
      others,
    );
  }

  /** Octets of messages delivered while a waitFor runs, by cache key (taken by `load`). */
  private readonly fresh = new Map<string, Buffer>();
  private freshBytes = 0;
  private freshKeepers = 0;
  /** The one delivery subscription that fills `fresh`, while any waitFor runs. */
  private freshOff: (() => void) | undefined;

  /**
   * Keeps the content of each delivery (from the store's notice, already in memory) until the waiter
   * that found it parses it, so waitFor never reads back a file that was just written. Bounded by
   * `freshContentBytes`; everything is dropped when the last waiter ends. Concurrent waiters share
   * one subscription (the map is shared), so a delivery is looked at once however many wait. Returns
   * the stop function.
   */
  private keepFreshContent(): () => void {
    if (this.freshKeepers++ === 0) this.freshOff = this.store.onDelivery((notice) => this.keepFresh(notice));
    return () => {
      if (--this.freshKeepers > 0) return;
      this.freshOff?.();
      this.freshOff = undefined;
      this.fresh.clear();
      this.freshBytes = 0;
    };
  }

  private keepFresh(notice: DeliveryNotice): void {
    if (notice.size > MAIL_API_LIMITS.freshContentMaxMessageBytes || this.freshBytes + notice.size > MAIL_API_LIMITS.freshContentBytes) return;
    const key = cacheKey(notice.uniqueName, notice.size);
    if (this.fresh.has(key)) return;
    const raw = notice.content.length === 1 ? notice.content[0] : Buffer.concat(notice.content, notice.size);
    if (raw.length !== notice.size) return;
    this.fresh.set(key, raw);
    this.freshBytes += raw.length;
  }

  private takeFresh(key: string): Buffer | undefined {
    const raw = this.fresh.get(key);
    if (raw) {
      this.fresh.delete(key);
      this.freshBytes -= raw.length;
    }
    return raw;
  }

  private readonly prefetchQueue: Located[] = [];
  private prefetching = 0;

  /** Parses a message into the cache in the background (a few at a time; errors are for later reads). */
  private prefetch(loc: Located): void {
    this.prefetchQueue.push(loc);
    while (this.prefetching < MAIL_API_LIMITS.parseConcurrency && this.prefetchQueue.length > 0) {
      const next = this.prefetchQueue.shift()!;
      this.prefetching++;
      void this.load(next)
        .catch(() => undefined)
        .finally(() => {
          this.prefetching--;
          if (this.prefetchQueue.length > 0) this.prefetch(this.prefetchQueue.shift()!);
        });
    }
  }

  private async parseAll(found: Located[]): Promise<ParsedMessage[]> {
    const parsed = await mapLimit(found, MAIL_API_LIMITS.parseConcurrency, (loc) => this.parse(loc).catch(() => undefined));
    return parsed.filter((p): p is ParsedMessage => p !== undefined);
  }

  /**
   * Calls `listener` with every message delivered from now on, once its folder lists it (the REST
   * delivery stream). Returns unsubscribe.
   */
  onMessage(listener: (message: Located) => void): () => void {
    let active = true;
    const off = this.store.onDelivery((notice) => {
      for (const t of notice.targets) {
        void this.findDelivered(t.user, t.folder, notice.uniqueName).then(
          (info) => {
            if (active && info) listener({ user: t.user, folder: t.folder, info });
          },
          () => undefined,
        );
      }
    });
    return () => {
      active = false;
      off();
    };
  }

  /** The message just delivered into a folder, found by its unique name among the newest UIDs. */
  private async findDelivered(user: string, folder: string, uniqueName: string): Promise<MessageInfo | undefined> {
    await loadMime(); // the listener summarises it
    const f = await this.store.openFolder(user, folder);
    for (let uid = f.uidNext - 1, n = 0; uid >= 1 && n < 10_000; uid--, n++) {
      const info = f.get(uid);
      if (info?.uniqueName === uniqueName) return info;
    }
    return undefined;
  }

  /** Splits and checks an id; never creates a mailbox while looking. */
  async find(id: string): Promise<Located> {
    const parts = typeof id === 'string' && id.length <= 400 ? id.split('/') : [];
    const missing = (): never => {
      throw new LabnetError('NO_SUCH_MESSAGE', `no message "${String(id).slice(0, 120)}" (ids look like alice/INBOX/3)`);
    };
    if (parts.length !== 3 || !UID.test(parts[2])) return missing();
    const [user, rawFolder, uidText] = parts;
    const folder = canonicalFolder(rawFolder);
    try {
      checkUserName(user);
      if (!(await this.store.hasMailbox(user)) || !(await this.store.folderExists(user, folder))) return missing();
      const info = await this.store.getMessage(user, folder, Number(uidText));
      if (!info) return missing();
      return { user, folder, info };
    } catch (err) {
      if (err instanceof MailStoreError) return missing();
      throw err;
    }
  }

  private async load(loc: Located): Promise<{ raw: Buffer; content: ParsedContent }> {
    const { user, folder, info } = loc;
    const key = cacheKey(info.uniqueName, info.size);
    return this.cache.get(key, async () => {
      // Delivered while a waitFor ran: its octets came with the delivery notice.
      let raw = this.takeFresh(key);
      try {
        // Small messages (nearly all) in one blocking read: the thread pool stays free for the
        // deliveries' fsyncs, and a message just delivered is in the page cache.
        raw ??= await this.store.read(user, folder, info.uid, { blockingUpTo: MAIL_API_LIMITS.blockingReadBytes });
      } catch (err) {
        if (err instanceof MailStoreError && err.code === 'NO_SUCH_MESSAGE') throw new LabnetError('NO_SUCH_MESSAGE', err.message);
        throw err;
      }
      return { raw, content: deepFreeze(await parseContent(raw)) };
    });
  }

  private async parse(loc: Located): Promise<ParsedMessage> {
    const { raw, content: c } = await this.load(loc);
    const location: MessageLocation = { id: messageId(loc.user, loc.folder, loc.info.uid), user: loc.user, folder: loc.folder, uid: loc.info.uid };
    // Field by field, in the order a spread would give: spreading the frozen cached content takes V8's
    // slow path (in the api bench profile parse() cost 14 us of its own per message, and 9 KB allocated).
    return {
      id: location.id,
      user: location.user,
      folder: location.folder,
      uid: location.uid,
      from: c.from,
      to: c.to,
      cc: c.cc,
      bcc: c.bcc,
      replyTo: c.replyTo,
      subject: c.subject,
      date: c.date,
      messageId: c.messageId,
      text: c.text,
      html: c.html,
      attachments: c.attachments,
      headers: c.headers,
      raw,
      size: loc.info.size,
      receivedAt: new Date(loc.info.internalDate),
      flags: [...loc.info.flags],
    };
  }
}
