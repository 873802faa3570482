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
