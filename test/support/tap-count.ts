// Counts ava's TAP output. Kept apart from the runner so the counting rules have tests of their own.
export interface TapCount {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

export class TapCounter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;
  private trailerPass: number | undefined;
  private trailerFail: number | undefined;
  private readonly failures: string[] = [];

  line(line: string): void {
    const trailer = /^# (pass|fail) (\d+)$/.exec(line);
    if (trailer) {
      // ava's own totals also count tests that never ran because a hook failed.
      if (trailer[1] === 'pass') this.trailerPass = Number(trailer[2]);
      else this.trailerFail = Number(trailer[2]);
      return;
    }
    const m = /^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$/.exec(line);
    if (!m) return;
    if (/#\s*(SKIP|TODO)/i.test(line)) this.skipped++;
    else if (m[1] === 'ok') this.passed++;
    else {
      this.failed++;
      this.failures.push(m[2] ?? '');
    }
  }

  /**
   * The totals once the runner has exited with `exitCode` (null when it was killed by a signal). A
   * runner that failed without reporting a failing test (a crashed worker, a timeout, no test files,
   * a compile error) counts as one failure: the summary never says "0 failed" for a run that broke.
   */
  finish(exitCode: number | null): TapCount {
    let { passed, failed } = this;
    if (this.trailerFail !== undefined && this.trailerFail > failed) failed = this.trailerFail;
    if (this.trailerPass !== undefined && this.trailerPass !== passed) passed = Math.min(passed, this.trailerPass);
    const failures = [...this.failures];
    if (exitCode !== 0 && failed === 0) {
      failed = 1;
      failures.push(exitCode === null ? 'the test runner was killed' : `the test runner exited with code ${exitCode} without reporting a failed test`);
    }
    if (passed === 0 && failed === 0) {
      failed = 1;
      failures.push('no test ran');
    }
    return { passed, failed, skipped: this.skipped, failures };
  }
}
