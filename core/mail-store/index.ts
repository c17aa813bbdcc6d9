// The mail store's public surface (see README.md).
export {
  MailStore,
  FOLDER_DELIMITER,
  INBOX,
  DEFAULT_FOLDERS,
  canonicalFolder,
  checkFolderName,
  checkUserName,
  type MailStoreOptions,
  type MailStoreStats,
  type DeliveryNotice,
  type DeliveryListener,
} from './mail-store.js';
export * from './types.js';
export { INDEXED_HEADERS, parseHeaderFields, type IndexedHeader } from './header-fields.js';
export { MAX_KEYWORDS } from './folder.js';
