import { describe, expect, it } from 'vitest';
import { createLoginLimiter, TooManyAttemptsError } from '../../src/core/login-limiter.js';

describe('the login limiter', () => {
  it('lets 5 failures through, then makes each further try wait twice as long, and forgets on success', () => {
    let now = 0;
    const limiter = createLoginLimiter(() => now);
    for (let i = 0; i < 5; i++) limiter.begin('alice', '10.0.0.1');
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        limiter.begin('alice', '10.0.0.1');
        throw new Error('not limited');
      } catch (error) {
        expect(error).toBeInstanceOf(TooManyAttemptsError);
        waits.push((error as TooManyAttemptsError).retryAfterSeconds);
        now += (error as TooManyAttemptsError).retryAfterSeconds * 1000;
        limiter.begin('alice', '10.0.0.1');
      }
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    // Another address is not held up, and a right password there clears nothing of the first.
    limiter.begin('alice', '10.0.0.2').succeeded();
    expect(() => limiter.begin('alice', '10.0.0.1')).toThrow(TooManyAttemptsError);
    // An hour without failures: forgotten.
    now += 2 * 60 * 60 * 1000;
    limiter.begin('alice', '10.0.0.1').succeeded();
    expect(limiter.list()).toEqual([]);
  });

  it('caps the wait at 15 minutes', () => {
    let now = 0;
    const limiter = createLoginLimiter(() => now, { perLoginAndAddress: 1 });
    let last = 0;
    for (let i = 0; i < 30; i++) {
      try {
        limiter.begin('bob', 'x');
      } catch (error) {
        last = (error as TooManyAttemptsError).retryAfterSeconds;
        now += last * 1000;
      }
    }
    expect(last).toBe(15 * 60);
  });
});
