// Every IMAP size and count limit in one place, with where the number comes from.

export const IMAP_LIMITS = {
  /** Longest command line (without literals). RFC 7162 section 4 recommends at least 8192 octets. */
  maxLineLength: 64 * 1024,
  /** Total octets of one command including its literals (APPEND excepted: see appendLimit). */
  maxCommandOctets: 2 * 1024 * 1024,
  /** Literals accepted before authentication (a LOGIN with a huge literal is refused at once). */
  maxLiteralBeforeAuth: 1024,
  /** Literals accepted in other commands once authenticated (not APPEND). */
  maxLiteralOther: 64 * 1024,
  /** Number of literals in one command. */
  maxLiterals: 64,
  /** Nesting of parenthesised lists (SEARCH NOT/OR trees, BODYSTRUCTURE-like input). */
  maxListDepth: 32,
  /** Tokens in one command. */
  maxTokens: 100_000,
  /** Protocol errors (BAD) before the session is ended (WildDuck uses 50 too). */
  maxBadCommands: 50,
  /** RFC 3501 section 5.4: the autologout timer is at least 30 minutes. */
  autologoutMs: 30 * 60_000,
  /** Before authentication the timer is shorter (section 5.4 allows it). */
  preAuthTimeoutMs: 60_000,
  /** MIME nesting depth parsed for BODYSTRUCTURE. */
  maxMimeDepth: 32,
  /** MIME parts parsed per message. */
  maxMimeParts: 1000,
  /** Characters of one LIST/LSUB pattern with its reference (matched without backtracking; see list-pattern.ts). */
  maxListPattern: 1024,
  /** Patterns in one LIST-EXTENDED command (RFC 5258 allows a list). */
  maxListPatterns: 64,
  /** Subscriptions without a mailbox that one LIST (SUBSCRIBED) or LSUB answers (the rest are left out). */
  maxListSubscriptionsShown: 10_000,
  /** Names one user may subscribe to (SUBSCRIBE beyond it is NO [LIMIT]). */
  maxSubscriptions: 10_000,
  /** TEXT and URL parts of one CATENATE (RFC 4469); the literals among them also count against maxLiterals. */
  maxCatenateParts: 64,
  /**
   * Live SEARCH/SORT contexts (RFC 5267 RETURN (UPDATE)) one session may hold; each is re-checked
   * against the changed messages after every command. Past it: NO [NOUPDATE] and no updates.
   */
  maxSearchContexts: 5,
  /** NOTIFY (RFC 5465): event groups in one NOTIFY SET. */
  maxNotifyGroups: 16,
  /** NOTIFY: mailbox names over all subtree/mailboxes filters of one NOTIFY SET (Dovecot: 100 per namespace); past it NO [NOTIFICATIONOVERFLOW]. */
  maxNotifyNames: 100,
  /** NOTIFY: mailboxes one session watches for message events (personal on a user with more: NOTIFICATIONOVERFLOW). */
  maxNotifyMailboxes: 1000,
  /** NOTIFY: LIST notifications (MailboxName, SubscriptionChange) waiting for the client; past it NOTIFICATIONOVERFLOW and NOTIFY NONE. */
  maxNotifyQueued: 200,
  /** NOTIFY: new messages given their MessageNew FETCH at once; more at once is NOTIFICATIONOVERFLOW. */
  maxNotifyFetch: 1000,
  /** NOTIFY: unsent output (octets) past which notifications wait for the client to read. */
  maxNotifyBacklog: 1024 * 1024,
} as const;
