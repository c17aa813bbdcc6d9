// The `batch` event's encoding (see wire.ts): what the hub writes and what the browser, `labnet watch`,
// the tests and the benchmark read. No Node imports: core/lab/ui/ compiles against it too.

/** A batch's items, decoded: [event name, data] in event order. */
export function decodeBatch(entries: unknown): Array<[string, unknown]> {
  if (!Array.isArray(entries)) return [];
  return entries as Array<[string, unknown]>;
}
