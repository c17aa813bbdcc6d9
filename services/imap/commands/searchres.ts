// SEARCHRES (RFC 5182): SEARCH RETURN (SAVE ...) keeps its result, and "$" stands for it in later
// sequence sets (FETCH, STORE, COPY, MOVE, UID EXPUNGE, SEARCH keys). The result is kept as UIDs per
// selected-mailbox view (a WeakMap: a new SELECT, EXAMINE, CLOSE or UNSELECT starts with an empty
// one, section 2.1), so an expunged message simply drops out of it (UIDs are never reused). Its size
// is bounded by the mailbox's.
import type { Token } from '../command-parser.js';
import type { SelectedMailbox } from '../selected-mailbox.js';
import { formatSet, uidIndexes, type SequenceSet } from '../sequence-set.js';

const saved = new WeakMap<SelectedMailbox, readonly number[]>();

/** The "$" sequence set: an empty set marked as the saved result. */
export function savedRef(): SequenceSet {
  return Object.assign([] as SequenceSet, { saved: true as const });
}

export function isSavedRef(set: SequenceSet): boolean {
  return (set as { saved?: true }).saved === true;
}

/** Keeps `uids` (ascending) as the view's saved result. */
export function saveResult(view: SelectedMailbox, uids: readonly number[]): void {
  saved.set(view, uids);
}

/** Indexes into the view of the saved messages that are still there. */
export function savedIndexes(view: SelectedMailbox): number[] {
  const uids = saved.get(view) ?? [];
  return uids.length === 0
    ? []
    : uidIndexes(
        uids.map((u) => ({ from: u, to: u })),
        view.uids,
      );
}

/** SEARCH keys with "$" replaced by the saved UIDs ("UID set"), or a key that matches nothing. */
export function expandSavedKeys(view: SelectedMailbox, toks: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const t of toks) {
    if (t.t === 'atom' && t.v === '$') {
      const uids = saved.get(view) ?? [];
      if (uids.length === 0) out.push({ t: 'atom', v: 'NOT' }, { t: 'atom', v: 'ALL' });
      else out.push({ t: 'atom', v: 'UID' }, { t: 'atom', v: formatSet(uids) });
    } else if (t.t === 'list') out.push({ t: 'list', v: expandSavedKeys(view, t.v) });
    else out.push(t);
  }
  return out;
}

/**
 * Takes SAVE out of "RETURN (...)" (parseReturn does not know it). `save`: SAVE was there; `only`: it
 * was the only option, so no ESEARCH response is sent (section 2.4).
 */
export function takeSave(args: readonly Token[]): { args: Token[]; save: boolean; only: boolean } {
  const list = args[1];
  if (!(args[0]?.t === 'atom' && args[0].v.toUpperCase() === 'RETURN' && list?.t === 'list')) return { args: [...args], save: false, only: false };
  const rest = list.v.filter((t) => !(t.t === 'atom' && t.v.toUpperCase() === 'SAVE'));
  if (rest.length === list.v.length) return { args: [...args], save: false, only: false };
  return { args: [args[0], { t: 'list', v: rest }, ...args.slice(2)], save: true, only: rest.length === 0 };
}
