// The shared core of the line protocols (SMTP, POP3, IMAP): the session base that owns the read and
// dispatch loop, the command table, the TLS policy, the interception point, the connection-level
// replies, and in-memory transports for transcript tests.
export * from './command-table.js';
export * from './connection-replies.js';
export * from './interceptor.js';
export * from './line-session.js';
export * from './memory-transport.js';
export * from './tls-policy.js';
