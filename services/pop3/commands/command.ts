// The shape of one POP3 command module (defined with the session, which calls the handler).
export type { Pop3Command, Pop3Handler } from '../session.js';
