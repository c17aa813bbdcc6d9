// The mail store's public surface (see README.md).
export {
  MailStore,
  FOLDER_DELIMITER,
  INBOX,
  DEFAULT_FOLDERS,
  canonicalFolder,
  checkFolderName,
  checkUserName,
  MAX_BLOCKING_READ,
  type MailStoreOptions,
  type MailStoreStats,
  type DeliveryNotice,
  type DeliveryListener,
} from './mail-store.js';
export * from './types.js';
export { INDEXED_HEADERS, INDEX_LIMITS, parseHeaderFields, type IndexedHeader } from './header-fields.js';
export { MAX_KEYWORDS, DEFAULT_EXPUNGE_HISTORY, type ExpungedSince, type Folder } from './folder.js';
export { DEFAULT_QUOTA, mailStoreConfigSchema, type MailStoreConfig } from './config.js';
