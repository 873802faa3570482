import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Starts the thread module `name` beside `base` (an `import.meta.url`): the built service runs the
 * compiled `.js`; the sources (tests, benchmarks) load the TypeScript one through tsx.
 */
export function startModuleThread(base: string, name: string, workerData?: unknown): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const file = new URL(`./${name}.ts`, base).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(file)}); });`, { eval: true, workerData });
}

/** Bytes that crossed a thread arrive as a plain Uint8Array: a Buffer over the same memory. */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Lowers the calling thread's scheduling priority (its nice value; Linux gives each thread its own,
 * and threads it starts inherit it): the thread then gives way to the call path on the main thread
 * whenever both want the same core, and takes all that is left otherwise.
 */
export function lowerThreadPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not permitted: the thread runs at the process's priority.
  }
}

/** The nice value of the threads that are not the call path (pages, mail). */
export const BACKGROUND_NICE = 10;
