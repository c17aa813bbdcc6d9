// Errors with a stable code and, where the protocol has one, the response to send.

export type ImapErrorCode = 'PARSE' | 'BAD_ARGS' | 'NO' | 'TOO_BIG' | 'NONEXISTENT' | 'ALREADY_EXISTS' | 'CANNOT' | 'LIMIT';

/** A command failed: `kind` says whether it is answered BAD (syntax) or NO (refused). */
export class ImapError extends Error {
  constructor(
    readonly code: ImapErrorCode,
    readonly kind: 'BAD' | 'NO',
    message: string,
    /** A response code without brackets, e.g. 'TRYCREATE', 'NONEXISTENT'. */
    readonly responseCode?: string,
  ) {
    super(message);
    this.name = 'ImapError';
  }
}

export function bad(message: string): ImapError {
  return new ImapError('BAD_ARGS', 'BAD', message);
}

export function no(message: string, responseCode?: string, code: ImapErrorCode = 'NO'): ImapError {
  return new ImapError(code, 'NO', message, responseCode);
}
