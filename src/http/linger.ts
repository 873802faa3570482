import type { Socket } from 'node:net';

/** How long a connection whose request body was not read stays open after its answer. */
export const LINGER_MS = 1000;

/**
 * Closes a connection whose request body no route read — without losing the answer. Node closes it
 * as soon as the answer is written; the client, still sending the body, then gets a reset, and a
 * reset that arrives before it has read the answer takes the answer with it (a refused upload showed
 * "write EPIPE" instead of its 403 on a busy machine). Here the answer is followed by a FIN, the
 * connection reads nothing more (the kernel's buffers fill and the sender waits, so nothing is read
 * into memory), and it is closed a moment later: long enough for the client to read the answer
 * (the "lingering close" of Apache and nginx).
 */
export function lingerBeforeClosing(socket: Socket, ms = LINGER_MS): void {
  const s = socket as Socket & { destroySoon?: () => void; _handle?: { reading?: boolean; readStop?: () => number } | null };
  s.destroySoon = function lingeringClose(this: typeof s) {
    if (this.writable) this.end();
    const handle = this._handle;
    if (handle?.reading && typeof handle.readStop === 'function') {
      handle.reading = false;
      handle.readStop();
    }
    const timer = setTimeout(() => this.destroy(), ms);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}
