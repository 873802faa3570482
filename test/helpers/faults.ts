import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from './serve.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A user other than root, for faults root does not feel (root writes any file): `nobody`, who must be
 * able to read this checkout. A clone under a private folder (mktemp -d) is not readable to them.
 */
export function unprivilegedUser(): { uid: number; gid: number } | { unavailable: string } {
  try {
    const user = { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) };
    execFileSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(BIN)})`], { ...user, stdio: 'pipe' });
    return user;
  } catch (error) {
    return { unavailable: `user nobody cannot run this checkout's hotline (${(error as Error).message.split('\n')[0]})` };
  }
}

/**
 * A real, small file system (tmpfs, mounted here; tests run as root, as CI does) that a test can
 * fill to the last byte and free again. `null` where mounting is not allowed, with the reason.
 */
export function smallFileSystem(sizeKb = 4096): { dir: string; fill(): void; free(): void; dispose(): void } | { unavailable: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hl-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { unavailable: `cannot mount a tmpfs here: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}` };
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    /** Writes until the file system is full (ENOSPC). */
    fill() {
      const chunk = Buffer.alloc(64 * 1024, 1);
      let size = 0;
      for (;;) {
        try {
          writeFileSync(filler, chunk, { flag: 'a' });
          size += chunk.length;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          // The last, partial block too.
          for (let n = 32 * 1024; n >= 1; n = Math.floor(n / 2)) {
            try {
              writeFileSync(filler, Buffer.alloc(n, 1), { flag: 'a' });
            } catch {
              // full at this size; try smaller
            }
          }
          return;
        }
        if (size > 1024 ** 3) throw new Error('the small file system never filled up');
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    dispose() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A second process holding the database's write lock (`BEGIN IMMEDIATE`), as `hotline ingest`, the
 * CLI or a backup would, until `release()`.
 */
export async function lockHolder(database: string): Promise<{ release(): Promise<void> }> {
  const script = `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n'); process.stdin.resume(); process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script, database], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async release() {
      child.stdin!.end();
      await exited;
    },
  };
}
