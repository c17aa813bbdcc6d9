// One command table per line protocol: every command a service knows, by name, with the states it is
// allowed in and its argument count, checked once by the session loop before any handler runs.
// Names may have two words ('UID FETCH'); aliases map another name to the same command (IMAP's
// EXAMINE style). Two commands with one name are a mistake in the registry, so building the table
// throws at start-up instead of letting the last one silently win.

export interface CommandSpec<S extends string, H> {
  /** Upper-case command name: 'MAIL', 'STLS', 'UID FETCH'. */
  name: string;
  /** States in which the command is allowed. */
  states: readonly S[];
  /** Argument count bounds (words or tokens after the name), checked before the handler runs. */
  minArgs?: number;
  maxArgs?: number;
  /**
   * The command carries credentials (SMTP AUTH, POP3 USER/PASS/APOP/AUTH, IMAP LOGIN/AUTHENTICATE):
   * while the session's TLS policy refuses authentication over plain text it is answered by the
   * protocol's `onTlsRequired` instead of running.
   */
  authentication?: boolean;
  /** The command line as it may be shown in events and logs (secrets removed). */
  redact?: (line: string) => string;
  /** The protocol's handler; the session class of each protocol decides its shape and calls it. */
  handler: H;
}

export type Lookup<Spec> = { kind: 'ok'; spec: Spec } | { kind: 'unknown' } | { kind: 'wrong-state'; spec: Spec } | { kind: 'bad-args'; spec: Spec };

export class CommandTableError extends Error {
  readonly code = 'DUPLICATE_COMMAND';
  constructor(message: string) {
    super(message);
    this.name = 'CommandTableError';
  }
}

const UNKNOWN = { kind: 'unknown' } as const;

/** The three answers for one command, made once (lookup runs for every command line). */
interface Entry<Spec> {
  spec: Spec;
  ok: Lookup<Spec>;
  wrongState: Lookup<Spec>;
  badArgs: Lookup<Spec>;
}

export class CommandTable<S extends string, Spec extends CommandSpec<S, unknown>> {
  private readonly byName = new Map<string, Entry<Spec>>();

  /** Throws CommandTableError when two commands (or an alias and a command) share a name. */
  constructor(specs: readonly Spec[], aliases: Readonly<Record<string, string>> = {}) {
    for (const s of specs) this.add(s.name, s);
    for (const [alias, target] of Object.entries(aliases)) {
      const entry = this.byName.get(target.toUpperCase());
      if (!entry) throw new CommandTableError(`alias ${alias} names ${target}, which is not in the table`);
      this.add(alias, entry.spec);
    }
  }

  private add(name: string, spec: Spec): void {
    const key = name.toUpperCase();
    if (key !== name || !/^[A-Z0-9-]+( [A-Z0-9-]+)?$/.test(key)) throw new CommandTableError(`command name "${name}" must be one or two upper-case words`);
    if (this.byName.has(key)) throw new CommandTableError(`two commands are named ${key}`);
    this.byName.set(key, { spec, ok: { kind: 'ok', spec }, wrongState: { kind: 'wrong-state', spec }, badArgs: { kind: 'bad-args', spec } });
  }

  get(name: string): Spec | undefined {
    return this.byName.get(name)?.spec;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Finds `name` (upper case) and checks the state and the argument count. */
  lookup(name: string, state: S, argCount: number): Lookup<Spec> {
    const entry = this.byName.get(name);
    if (entry === undefined) return UNKNOWN;
    const spec = entry.spec;
    if (!spec.states.includes(state)) return entry.wrongState;
    if ((spec.minArgs !== undefined && argCount < spec.minArgs) || (spec.maxArgs !== undefined && argCount > spec.maxArgs)) return entry.badArgs;
    return entry.ok;
  }
}
