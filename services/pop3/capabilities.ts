// The CAPA list (RFC 2449 section 5). Each capability says in which states it is announced and, for
// the ones the session's TLS policy decides (STLS, and USER/SASL under tls.requireTlsForAuth), when.
import type { Pop3State } from './state.js';

/** What the conditions look at: the session's TLS policy answers. */
export interface CapabilityView {
  readonly startTlsOffered: boolean;
  readonly authAllowed: boolean;
}

export interface Capability {
  /** The capability line as sent ("SASL PLAIN", "EXPIRE NEVER"). */
  line: string;
  /** States in which CAPA lists it. */
  states: readonly Pop3State[];
  /** Optional extra condition (e.g. STLS only while it is offered). */
  when?: (view: CapabilityView) => boolean;
}

export class Capabilities {
  constructor(private readonly list: readonly Capability[]) {
    const tags = list.map((c) => c.line.split(' ')[0].toUpperCase());
    if (new Set(tags).size !== tags.length) throw new Error(`a POP3 capability is listed twice: ${tags.join(' ')}`);
  }

  has(tag: string): boolean {
    const t = tag.toUpperCase();
    return this.list.some((c) => c.line.split(' ')[0].toUpperCase() === t);
  }

  lines(state: Pop3State, view: CapabilityView): string[] {
    return this.list.filter((c) => c.states.includes(state) && (!c.when || c.when(view))).map((c) => c.line);
  }
}

const BOTH: readonly Pop3State[] = ['AUTHORIZATION', 'TRANSACTION'];
const AUTH_ONLY: readonly Pop3State[] = ['AUTHORIZATION'];

/** What labnet's POP3 announces. */
export function defaultCapabilities(implementation: string): Capabilities {
  return new Capabilities([
    { line: 'TOP', states: BOTH },
    { line: 'UIDL', states: BOTH },
    // USER and SASL only make sense before login (RFC 2449 section 6.3, RFC 5034 section 3), and only
    // where the TLS policy lets the session authenticate.
    { line: 'USER', states: AUTH_ONLY, when: (v) => v.authAllowed },
    { line: 'SASL PLAIN', states: AUTH_ONLY, when: (v) => v.authAllowed },
    { line: 'RESP-CODES', states: BOTH },
    { line: 'AUTH-RESP-CODE', states: BOTH },
    { line: 'PIPELINING', states: BOTH },
    // labnet never removes mail on its own (RFC 2449 section 6.7).
    { line: 'EXPIRE NEVER', states: BOTH },
    { line: `IMPLEMENTATION ${implementation}`, states: BOTH },
    // RFC 2595 section 4: STLS, listed only while the policy offers it (not once TLS is on).
    { line: 'STLS', states: AUTH_ONLY, when: (v) => v.startTlsOffered },
  ]);
}
