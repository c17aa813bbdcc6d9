// Errors raised while reading or writing DNS messages, each with a stable code. A query that raises
// one is answered FORMERR (RFC 1035 section 4.1.1) with the code in the event, or dropped when not
// even the header could be read.
export type DnsWireErrorCode =
  /** The message ends inside a field. */
  | 'TRUNCATED'
  /** A label longer than 63 octets, or an empty label inside a name. */
  | 'LABEL_TOO_LONG'
  | 'EMPTY_LABEL'
  /** A name longer than 255 octets on the wire. */
  | 'NAME_TOO_LONG'
  /** A compression pointer that does not point back before the name it is in (a loop), or too many. */
  | 'BAD_POINTER'
  /** Label type 01 or 10 (RFC 6891 section 5: extended label types are obsolete). */
  | 'BAD_LABEL_TYPE'
  /** RDLENGTH disagrees with what the record type's data occupies. */
  | 'BAD_RDLENGTH'
  /** QDCOUNT other than 1 in a query (RFC 9619). */
  | 'BAD_QDCOUNT'
  /** More records than a query may carry. */
  | 'TOO_MANY_RECORDS'
  /** OPT with a non-root owner, more than one OPT, or OPT outside the additional section (RFC 6891 section 6.1.1). */
  | 'BAD_OPT'
  /** Octets after the last record the counts announce. */
  | 'TRAILING_DATA'
  /** A value that cannot be written (a name or field out of range). */
  | 'BAD_VALUE'
  /** The message would be longer than 65,535 octets. */
  | 'MESSAGE_TOO_LONG';

export class DnsWireError extends Error {
  constructor(
    readonly code: DnsWireErrorCode,
    message: string,
    /** Where in the message the problem is. */
    readonly offset = -1,
  ) {
    super(message);
    this.name = 'DnsWireError';
  }
}
