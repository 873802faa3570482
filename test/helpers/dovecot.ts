import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from './hotline.js';

const TEMPLATE = fileURLToPath(new URL('../../../shared/testing/dovecot.conf.template', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A throw-away Dovecot IMAP server on loopback (Debian's dovecot-imapd); any user, password `secret`. */
export async function startDovecot() {
  if (!existsSync('/usr/sbin/dovecot')) throw new Error('/usr/sbin/dovecot is missing: install Debian\'s dovecot-imapd (apt-get install -y dovecot-imapd), as .ci/run does');
  const { dir, cleanup } = tempDir('hotline-dovecot-');
  const port = await freePort();
  // mkdtemp makes the folder private to root; Dovecot's mail processes run as `dovecot` and must pass through it.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'), { recursive: true });
  const config = join(dir, 'dovecot.conf');
  writeFileSync(config, readFileSync(TEMPLATE, 'utf8').replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)));
  execFileSync('chown', ['-R', 'dovecot:dovecot', join(dir, 'mail')]);
  // The daemon keeps inherited pipes open: give it none, or this call would wait for it to exit.
  execFileSync('dovecot', ['-c', config], { stdio: 'ignore' });
  // Wait until it accepts connections.
  const { connect } = await import('node:net');
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100) throw new Error(`dovecot did not start: ${readFileSync(join(dir, 'dovecot.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (user: string, mailbox = 'INBOX') => `imap://${user}:secret@127.0.0.1:${port}/${mailbox}`,
    stop(): void {
      try {
        execFileSync('dovecot', ['-c', config, 'stop'], { stdio: 'ignore' });
      } finally {
        cleanup();
      }
    },
  };
}
