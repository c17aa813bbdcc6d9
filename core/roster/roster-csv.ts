// `labnet users import roster.csv`: one student per row, columns name, full name, password (the
// password may be left empty: one is generated). A first row made only of column names ("name" or
// "login", "user", "username"; "full name", "fullname", "display name"; "password") is a header and
// may put the columns in any order. Parsed with csv-parse (RFC 4180 quoting, a UTF-8 BOM, CRLF or LF);
// every bad row gets its own error with its line number, so a teacher fixes the file in one go.
import { parse } from 'csv-parse/sync';
import { fullNameSchema, MAX_ROSTER_USERS, rosterNameSchema } from './roster-file.js';

/** Largest CSV file read (10,000 rows of about 100 octets). */
export const MAX_CSV_BYTES = 2 * 1024 * 1024;
export const MAX_PASSWORD = 256;

export interface RosterRow {
  /** 1-based line of the file the row starts on. */
  line: number;
  name: string;
  fullName: string;
  /** Undefined: generate one. */
  password?: string;
}

export interface RosterCsvResult {
  rows: RosterRow[];
  errors: Array<{ line: number; message: string }>;
}

const NAME_HEADERS = new Set(['name', 'login', 'user', 'username', 'user name']);
const FULL_HEADERS = new Set(['full name', 'fullname', 'full_name', 'display name', 'displayname']);

/** A password the roster accepts: 1-256 characters, no control characters; else why not. */
export function checkPassword(password: string): string | undefined {
  if (password.length === 0) return 'the password is empty';
  if (password.length > MAX_PASSWORD) return `the password is longer than ${MAX_PASSWORD} characters`;
  if (/[\u0000-\u001f\u007f]/.test(password)) return 'the password contains a control character';
  return undefined;
}

export function parseRosterCsv(input: Buffer | string): RosterCsvResult {
  const result: RosterCsvResult = { rows: [], errors: [] };
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_CSV_BYTES) {
    result.errors.push({ line: 0, message: `the file is larger than ${MAX_CSV_BYTES} octets` });
    return result;
  }
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(input, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      max_record_size: 4096,
      to: MAX_ROSTER_USERS + 2,
      // A record csv-parse cannot read (an unclosed quote...) is reported and the rest still checked.
      skip_records_with_error: true,
      on_skip: (err: (Error & { lines?: number }) | undefined) => {
        if (err) result.errors.push({ line: err.lines ?? 0, message: `not valid CSV: ${err.message.slice(0, 200)}` });
      },
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    const e = err as Error & { lines?: number };
    result.errors.push({ line: e.lines ?? 0, message: `not valid CSV: ${e.message.replace(/^Invalid Record Length: |^CsvError: /, '').slice(0, 200)}` });
    return result;
  }
  let columns = { name: 0, fullName: 1, password: 2, count: 3 };
  const first = records[0]?.record.map((c) => c.toLowerCase());
  const nameColumn = first ? first.findIndex((c) => NAME_HEADERS.has(c)) : -1;
  if (first && nameColumn >= 0 && first.every((c) => NAME_HEADERS.has(c) || FULL_HEADERS.has(c) || c === 'password')) {
    columns = { name: nameColumn, fullName: first.findIndex((c) => FULL_HEADERS.has(c)), password: first.indexOf('password'), count: first.length };
    records = records.slice(1);
  }
  if (records.length > MAX_ROSTER_USERS) {
    result.errors.push({ line: 0, message: `more than ${MAX_ROSTER_USERS} students` });
    return result;
  }
  const seen = new Map<string, number>();
  const errorsBefore = result.errors.splice(0);
  for (const { record, info } of records) {
    // info.lines is the line the record ends on; a record with a quoted newline starts earlier.
    const line = info.lines - record.reduce((n, c) => n + (c.match(/\n/g)?.length ?? 0), 0);
    const bad = (message: string) => result.errors.push({ line, message });
    if (record.every((c) => c === '' || c.startsWith('#'))) continue;
    if (record.length > columns.count) {
      bad(`${record.length} columns, expected at most ${columns.count} (name, full name, password); quote a value that contains a comma`);
      continue;
    }
    const rawName = record[columns.name] ?? '';
    const name = rawName.toLowerCase();
    const n = rosterNameSchema.safeParse(name);
    if (!n.success) {
      bad(`the name ${JSON.stringify(rawName.slice(0, 40))} is not usable: ${n.error.issues[0]?.message ?? 'invalid'}`);
      continue;
    }
    const fullName = columns.fullName >= 0 ? (record[columns.fullName] ?? '') : '';
    const f = fullNameSchema.safeParse(fullName);
    if (!f.success) {
      bad(`the full name of "${name}": ${f.error.issues[0]?.message ?? 'invalid'}`);
      continue;
    }
    const password = columns.password >= 0 ? (record[columns.password] ?? '') : '';
    const why = password === '' ? undefined : checkPassword(password);
    if (why) {
      bad(`"${name}": ${why}`);
      continue;
    }
    const dup = seen.get(name);
    if (dup !== undefined) {
      bad(`"${name}" is already on line ${dup}`);
      continue;
    }
    seen.set(name, line);
    result.rows.push({ line, name, fullName, ...(password === '' ? {} : { password }) });
  }
  // In file order: the rows' errors and those csv-parse reported.
  result.errors = [...result.errors, ...errorsBefore].sort((a, b) => a.line - b.line);
  return result;
}
