import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './hotline.js';
import { freePort } from './ports.js';

/**
 * A throw-away Dovecot on loopback: any user with password `secret`, Maildir under `DIR/mail/<user>`.
 * The login processes refuse to run as root, hence the `dovecot` / `dovenull` users.
 */
const TEMPLATE = `protocols = imap
listen = 127.0.0.1
base_dir = @DIR@/run
state_dir = @DIR@/state
log_path = @DIR@/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:@DIR@/mail/%u
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=@DIR@/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = @PORT@
  }
  inet_listener imaps {
    port = 0
  }
}
first_valid_uid = 0
default_internal_user = dovecot
default_login_user = dovenull
`;

/** A throw-away Dovecot IMAP server on loopback (Debian's dovecot-imapd); any user, password `secret`. */
export async function startDovecot() {
  if (!existsSync('/usr/sbin/dovecot')) throw new Error('/usr/sbin/dovecot is missing: install Debian\'s dovecot-imapd (apt-get install -y dovecot-imapd), as .ci/run does');
  const { dir, cleanup } = tempDir('hotline-dovecot-');
  const port = await freePort();
  // mkdtemp makes the folder private to root; Dovecot's mail processes run as `dovecot` and must pass through it.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'), { recursive: true });
  const config = join(dir, 'dovecot.conf');
  writeFileSync(config, TEMPLATE.replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)));
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
