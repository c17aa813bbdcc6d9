// The one interception point of a line session, for fault injection in test suites (core/faults
// gives it config, an API and rules). The session asks it at each step below; the answer may send a
// reply instead of running the step, delay the step, or close the connection. Without an interceptor
// the session pays one `undefined` check per step.

/** Where a session asks its interceptor. */
export type SessionStep =
  /** Before the greeting. */
  | { kind: 'greeting' }
  /** Before a command's handler, after the table's state and argument checks passed. */
  | {
      kind: 'command';
      /** Upper-case command name ('MAIL', 'UID FETCH'). */
      name: string;
      /** The command line as events show it (secrets redacted). */
      line: string;
      /** IMAP: the command's tag (a replacement reply needs it). */
      tag?: string;
    }
  /** SMTP: a message was read completely (end of DATA, or BDAT LAST) and is about to be delivered. */
  | { kind: 'message'; name: 'DATA' | 'BDAT'; size: number };

export interface Interception {
  /** Wait this long (ms) first; the session's earlier replies are sent before the wait. */
  delayMs?: number;
  /**
   * Send these lines (CRLF added) instead of running the step. For a message step the transaction
   * ends as if delivery had failed with this reply.
   */
  reply?: string | readonly string[];
  /** Close the connection (after the reply, if any) instead of running the step. */
  close?: boolean;
  /** Run the step, but close the connection once this many more octets were written (cut mid-answer). */
  closeAfterBytes?: number;
}

/** The session type is left open so that one interceptor can serve every protocol. */
export type Interceptor<Session = unknown> = (session: Session, step: SessionStep) => Interception | undefined | Promise<Interception | undefined>;
