// The static command registry: every IMAP command the server knows, by name (UID variants under
// two-word names such as 'UID FETCH'). Nothing is discovered at run time; a command is on this list or
// it does not exist. A new command is one file under commands/ and one entry in this list.
import { CommandTable } from '../../../core/line-session/index.js';
import type { ImapCommand, ImapState } from '../command-spec.js';
import { append } from './append.js';
import { authenticate, login } from './auth.js';
import { copy, move, uidCopy, uidMove } from './copy-move.js';
import { expunge, uidExpunge } from './expunge.js';
import { fetch, uidFetch } from './fetch.js';
import { idle } from './idle.js';
import { listCmd, lsub } from './list.js';
import { notify } from './notify.js';
import { create, del, rename, subscribe, unsubscribe } from './mailboxes.js';
import { getQuota, getQuotaRoot } from './quota.js';
import { cancelUpdate, search, uidSearch } from './search.js';
import { sort, thread, uidSort, uidThread } from './sort.js';
import { close, examine, select, unselect } from './select.js';
import { capability, check, enable, id, logout, namespace, noop } from './simple.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store, uidStore } from './store.js';

const ALL: readonly ImapCommand[] = [
  capability,
  noop,
  logout,
  id,
  enable,
  namespace,
  check,
  starttls,
  login,
  authenticate,
  select,
  examine,
  close,
  unselect,
  create,
  del,
  rename,
  subscribe,
  unsubscribe,
  listCmd,
  lsub,
  status,
  append,
  fetch,
  uidFetch,
  store,
  uidStore,
  search,
  uidSearch,
  cancelUpdate,
  sort,
  uidSort,
  thread,
  uidThread,
  copy,
  uidCopy,
  move,
  uidMove,
  expunge,
  uidExpunge,
  idle,
  getQuotaRoot,
  getQuota,
  notify,
];

/** The table sessions dispatch through (two commands with one name throw here, at start-up). */
export function imapCommandTable(): CommandTable<ImapState, ImapCommand> {
  return new CommandTable<ImapState, ImapCommand>(ALL);
}
