/** A call to the PBX that did not answer in time (the PBX is down or overloaded). */
export class PbxTimeoutError extends Error {
  override name = 'PbxTimeoutError';
}

/** A call to the PBX while it is not connected: fails at once instead of hanging. */
export class PbxUnavailableError extends Error {
  override name = 'PbxUnavailableError';
}

/** Settles with `promise`, or rejects with PbxTimeoutError after `ms` (the clients' own calls can hang forever). */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PbxTimeoutError(`${what}: no answer from Asterisk within ${ms} ms`)), ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Capped exponential backoff: 250 ms, 500 ms, 1 s … up to `capMs`. */
export function backoffDelay(attempt: number, capMs: number): number {
  return Math.min(capMs, 250 * 2 ** Math.min(attempt, 16));
}
