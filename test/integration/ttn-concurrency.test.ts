import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isValidTtn } from '../../src/core/ttn/ttn-text.js';
import { testHotline } from '../helpers/hotline.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../helpers/create-tickets.js', import.meta.url));
const disposers: Array<() => void> = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

describe('TTN uniqueness', () => {
  it('gives 2,000 tickets created by 4 processes at once on one file 2,000 different valid TTNs', async () => {
    const hotline = await testHotline();
    disposers.push(hotline.dispose);
    await hotline.directory.createQueue({ name: 'Raw', isDefault: true });
    const database = join(hotline.dir, 'hotline.db');
    const startAt = String(Date.now() + 2000);
    const outputs = await Promise.all([1, 2, 3, 4].map(() => run(process.execPath, [CHILD, database, '500', startAt], { maxBuffer: 1 << 20 })));
    const perProcess = outputs.map((o) => o.stdout.split('\n'));
    const ttns = perProcess.flat();
    expect(ttns).toHaveLength(2000);
    expect(new Set(ttns).size).toBe(2000);
    expect(ttns.every(isValidTtn)).toBe(true);
    expect(hotline.db.prepare('SELECT count(DISTINCT ttn) FROM tickets').pluck().get()).toBe(2000);
    // The processes really ran at the same time: their numbers interleave rather than come in blocks of 500.
    const interleaved = perProcess.filter((list) => {
      const counters = list.map((t) => Number(t.slice(8, 13)));
      return counters.at(-1)! - counters[0]! + 1 > list.length;
    });
    expect(interleaved.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
