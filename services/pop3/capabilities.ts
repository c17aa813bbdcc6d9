// The CAPA list (RFC 2449 section 5). Each capability says in which states it is announced; the TLS
// layer adds STLS (RFC 2595 section 4) with `add`, before the first session starts.
import type { Pop3State } from './state.js';

export interface Capability {
  /** The capability line as sent ("SASL PLAIN", "EXPIRE NEVER"). */
  line: string;
  /** States in which CAPA lists it. */
  states: readonly Pop3State[];
  /** Optional extra condition (e.g. STLS only while the connection is still plain). */
  when?: (view: { isTls: boolean }) => boolean;
}

export class Capabilities {
  private readonly list: Capability[] = [];

  constructor(initial: readonly Capability[] = []) {
    for (const c of initial) this.add(c);
  }

  /** Adds (or replaces, by first word) a capability. */
  add(cap: Capability): void {
    const tag = cap.line.split(' ')[0].toUpperCase();
    const i = this.list.findIndex((c) => c.line.split(' ')[0].toUpperCase() === tag);
    if (i >= 0) this.list[i] = cap;
    else this.list.push(cap);
  }

  has(tag: string): boolean {
    const t = tag.toUpperCase();
    return this.list.some((c) => c.line.split(' ')[0].toUpperCase() === t);
  }

  lines(state: Pop3State, view: { isTls: boolean }): string[] {
    return this.list.filter((c) => c.states.includes(state) && (!c.when || c.when(view))).map((c) => c.line);
  }
}

const BOTH: readonly Pop3State[] = ['AUTHORIZATION', 'TRANSACTION'];
const AUTH_ONLY: readonly Pop3State[] = ['AUTHORIZATION'];

/** What labnet's POP3 announces before TLS is added. */
export function defaultCapabilities(implementation: string): Capabilities {
  return new Capabilities([
    { line: 'TOP', states: BOTH },
    { line: 'UIDL', states: BOTH },
    // USER and SASL only make sense before login (RFC 2449 section 6.3, RFC 5034 section 3).
    { line: 'USER', states: AUTH_ONLY },
    { line: 'SASL PLAIN', states: AUTH_ONLY },
    { line: 'RESP-CODES', states: BOTH },
    { line: 'AUTH-RESP-CODE', states: BOTH },
    { line: 'PIPELINING', states: BOTH },
    // labnet never removes mail on its own (RFC 2449 section 6.7).
    { line: 'EXPIRE NEVER', states: BOTH },
    { line: `IMPLEMENTATION ${implementation}`, states: BOTH },
  ]);
}
