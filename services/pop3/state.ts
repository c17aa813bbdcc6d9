// The three POP3 session states (RFC 1939 section 3).
export type Pop3State = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';
