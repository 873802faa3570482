import { describe, expect, it } from 'vitest';
import { groupSync } from '../../src/storage/wal-sync.js';

/** A flush that finishes when the test says so, recording what had been written when it started. */
function controlledFlush() {
  const runs: Array<{ covers: number; finish(): void; fail(error: Error): void }> = [];
  let written = 0;
  const flush = () =>
    new Promise<void>((resolve, reject) => {
      runs.push({ covers: written, finish: resolve, fail: reject });
    });
  return { runs, flush, write: () => ++written };
}

describe('group commit (groupSync)', () => {
  it('answers every caller with a flush that started after its write, and one flush serves all who waited', async () => {
    const f = controlledFlush();
    const sync = groupSync(f.flush);
    const answered: number[] = [];
    const callers = [1, 2, 3, 4, 5].map((n) => {
      f.write();
      return sync().then(() => answered.push(n));
    });
    // Caller 1 started a flush covering its write; 2–5 wrote after it began.
    expect(f.runs.map((r) => r.covers)).toEqual([1]);
    f.runs[0]!.finish();
    await new Promise((r) => setImmediate(r));
    expect(answered).toEqual([1]);
    // One more flush, covering all four.
    expect(f.runs.map((r) => r.covers)).toEqual([1, 5]);
    f.runs[1]!.finish();
    await Promise.all(callers);
    expect(answered).toEqual([1, 2, 3, 4, 5]);
    expect(f.runs).toHaveLength(2);
  });

  it('fails the callers of a flush that fails, and flushes afresh for the next', async () => {
    const f = controlledFlush();
    const sync = groupSync(f.flush);
    f.write();
    const first = sync();
    f.runs[0]!.fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    f.write();
    const second = sync();
    expect(f.runs).toHaveLength(2);
    f.runs[1]!.finish();
    await expect(second).resolves.toBeUndefined();
  });
});
