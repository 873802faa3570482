import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export { deadPort } from './ports.js';

export const BIN = fileURLToPath(new URL('../../bin/hotline.js', import.meta.url));

/** A running `hotline serve` child process. */
export interface ServeProcess {
  child: ChildProcess;
  /** The web UI's base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string | null>;
  /** Resolves once the output matches `pattern` (the process's own lines, not a poll). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/**
 * Starts the built `hotline serve` in `cwd` with only the given HOTLINE_* settings (HTTP and SMTP
 * on free ports unless set), and resolves once it listens (or prints `options.ready`). Rejects with its output if it exits first.
 */
export async function startServe(cwd: string, env: Record<string, string>, timeoutMs = 60_000, user?: { uid: number; gid: number }, options: { openFiles?: number; ready?: RegExp } = {}): Promise<ServeProcess> {
  // A limit on open files, as a site's ulimit would set it (util-linux prlimit).
  const [command, args] = options.openFiles ? ['prlimit', [`--nofile=${options.openFiles}:${options.openFiles}`, process.execPath, BIN, 'serve']] : [process.execPath, [BIN, 'serve']];
  const child = spawn(command, args, {
    ...user,
    cwd,
    env: { PATH: process.env.PATH, HOTLINE_HTTP_PORT: '0', HOTLINE_SMTP_PORT: '0', HOTLINE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const watchers = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of watchers) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const w of watchers) w();
  });

  const waitForOutput = (pattern: RegExp, ms = timeoutMs) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m) finish(() => resolve(m));
        else if (ended) finish(() => reject(new Error(`hotline serve exited before printing ${pattern}; output:\n${out}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`hotline serve did not print ${pattern} within ${ms} ms; output:\n${out}`))), ms);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        watchers.delete(check);
        settle();
      };
      watchers.add(check);
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!ended) child.kill(signal);
    return exited;
  };
  try {
    // An instance without the web role (`services`) listens nowhere: `ready` says when it runs; its url is ''.
    const url = options.ready ? ((await waitForOutput(options.ready)), '') : (await waitForOutput(/listening on (http:\/\/\S+)/))[1]!;
    return { child, url, output: () => out, exited, waitForOutput, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
}
