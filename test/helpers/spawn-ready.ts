import type { ChildProcess } from 'node:child_process';

/**
 * Resolves once the server `child` prints a line matching `ready` (on stdout or stderr); rejects when it
 * exits first or stays silent for `timeoutMs`. Resolves to a promise of its exit, for stopping it later.
 */
export async function untilReady(child: ChildProcess, ready: RegExp, what: string, timeoutMs = 30_000): Promise<{ exited: Promise<void> }> {
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${what} exited:\n${out}`));
    });
  });
  return { exited };
}
