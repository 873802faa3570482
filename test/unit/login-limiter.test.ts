import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoginFailureStore, LoginLimits } from '../../src/core/login-limiter.js';
import { createLoginLimiter as createWith, memoryLoginFailures, TooManyAttemptsError } from '../../src/core/login-limiter.js';
import { openDatabase } from '../../src/storage/database.js';
import { sqliteEngine } from '../../src/storage/engine.js';
import { createLoginFailureRepository } from '../../src/storage/login-failure-repository.js';
import { tempDir } from '../helpers/hotline.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).reverse().forEach((c) => c()));

/** A database file of its own, and a store on a new connection to it (one per "instance"). */
function databaseFile(): () => LoginFailureStore {
  const { dir, cleanup } = tempDir('hotline-logins-');
  cleanups.push(cleanup);
  const file = join(dir, 'hotline.db');
  return () => {
    const db = openDatabase(file);
    cleanups.push(() => db.close());
    return createLoginFailureRepository(sqliteEngine(db));
  };
}

describe.each([
  ['in memory', () => memoryLoginFailures()],
  ['in the database', () => databaseFile()()],
])('the login limiter, counting %s', (_where, store) => {
  const createLoginLimiter = (now: () => number, limits?: Partial<LoginLimits>) => createWith(now, limits, store());

  it('lets 5 failures through, then makes each further try wait twice as long, and forgets on success', async () => {
    let now = 0;
    const limiter = createLoginLimiter(() => now);
    for (let i = 0; i < 5; i++) await limiter.begin('alice', '10.0.0.1');
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        await limiter.begin('alice', '10.0.0.1');
        throw new Error('not limited');
      } catch (error) {
        expect(error).toBeInstanceOf(TooManyAttemptsError);
        waits.push((error as TooManyAttemptsError).retryAfterSeconds);
        now += (error as TooManyAttemptsError).retryAfterSeconds * 1000;
        await limiter.begin('alice', '10.0.0.1');
      }
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    // Another address is not held up, and a right password there clears nothing of the first.
    await (await limiter.begin('alice', '10.0.0.2')).succeeded();
    await expect(limiter.begin('alice', '10.0.0.1')).rejects.toThrow(TooManyAttemptsError);
    // An hour without failures: forgotten.
    now += 2 * 60 * 60 * 1000;
    await (await limiter.begin('alice', '10.0.0.1')).succeeded();
    expect(await limiter.list()).toEqual([]);
  });

  it('caps the wait at 15 minutes', async () => {
    let now = 0;
    const limiter = createLoginLimiter(() => now, { perLoginAndAddress: 1 });
    let last = 0;
    for (let i = 0; i < 30; i++) {
      try {
        await limiter.begin('bob', 'x');
      } catch (error) {
        last = (error as TooManyAttemptsError).retryAfterSeconds;
        now += last * 1000;
      }
    }
    expect(last).toBe(15 * 60);
  });
});

describe('failed logins counted in one database', () => {
  it('are counted together by every instance: tries spread over two cannot pass the allowance', async () => {
    const file = databaseFile();
    let now = 0;
    const a = createWith(() => now, {}, file());
    const b = createWith(() => now, {}, file());
    for (let i = 0; i < 3; i++) await a.begin('alice', '10.0.0.1');
    for (let i = 0; i < 2; i++) await b.begin('alice', '10.0.0.1');
    await expect(a.begin('alice', '10.0.0.1')).rejects.toThrow(TooManyAttemptsError);
    await expect(b.begin('alice', '10.0.0.1')).rejects.toThrow(TooManyAttemptsError);
    expect(await b.list()).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'login', login: 'alice', failures: 5 })]));
    // An admin clears them on one instance: cleared on both.
    expect(await a.clear({ login: 'alice' })).toBe(1);
    await (await b.begin('alice', '10.0.0.1')).succeeded();
    now += 1;
    expect(await a.list()).toEqual([expect.objectContaining({ kind: 'address', failures: 5 })]);
  });
});
