// Messages between the main process (the call path, socket.io) and the web process (pages and API,
// owner of the HTTP port): calls into the main process's services, and the socket.io connections
// and requests that reach the web process first.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import { PbxTimeoutError, PbxUnavailableError } from '../pbx/with-timeout.js';
import { DatabaseBusyError } from '../storage/db-health.js';

/** Main → web process. */
export type ToWeb =
  /** The first message: what to run with, where to listen. */
  | { type: 'start'; data: unknown }
  | { type: 'result'; call: number; value?: unknown; error?: WireError }
  /** The second answer of a call that has one (a click-to-dial's outcome). */
  | { type: 'later'; call: number; value?: unknown; error?: WireError }
  /** The main process's answer to a relayed socket.io request. */
  | { type: 'relayed'; id: number; status: number; headers: OutgoingHttpHeaders; body: Uint8Array; error?: WireError }
  /** Finish, close the database and exit. */
  | { type: 'stop' };

/** Web process → main. */
export type FromWeb =
  | { type: 'listening'; address: string; family: string; port: number }
  /** It could not listen (the port is taken, say). */
  | { type: 'failed'; error: WireError }
  /** Sent every second: a process that stops saying it is stopped and started again. */
  | { type: 'alive' }
  /** A connection for socket.io, handed over with what was read of it (the handle comes with the message). */
  | { type: 'socket'; head: Uint8Array }
  /** A socket.io request that came on a connection of pages, whole. */
  | { type: 'relay'; id: number; method: string; url: string; headers: IncomingHttpHeaders; remoteAddress: string; body: Uint8Array }
  | { type: 'call'; call: number; method: ServiceCall; args: unknown[] };

/** socket.io's path (its client script, long-polling and the websocket upgrade). */
export const REALTIME_PATH = '/socket.io/';
export const isRealtimeRequest = (path: string | undefined): boolean => path !== undefined && path.startsWith(REALTIME_PATH);
/** A socket.io request body relayed from the web process (engine.io's own limit is 1 MB). */
export const RELAY_MAX_BODY_BYTES = 1024 * 1024 + 16 * 1024;
/** The most of a first request read before deciding where its connection goes: a longer head is the parser's to refuse. */
const PEEK_MAX_BYTES = 16 * 1024;
const REALTIME_LINE = Buffer.from(`GET ${REALTIME_PATH}`);

export interface PeekedHead {
  bytes: Buffer;
  method: string;
  path: string;
  /** The whole head (through the blank line) is in `bytes`. */
  complete: boolean;
  /** It asks for a websocket (`Upgrade: websocket`): after the answer the connection carries no other request. */
  websocket: boolean;
}

/**
 * Reads a new connection's first bytes, enough to tell a socket.io request (its whole head, which a
 * client sends before it waits for the answer) from any other (as soon as it cannot be one), and
 * leaves the socket paused with nothing read beyond `bytes`. `done(null)`: the client sent nothing
 * usable in time, or went away. Its handle reads nothing more from the kernel until resumed (see stopReading).
 */
export function peekRequest(socket: import('node:net').Socket, timeoutMs: number, done: (head: PeekedHead | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (head: PeekedHead | null) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.pause();
    stopReading(socket);
    socket.off('data', onData);
    socket.off('error', onEnd);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    done(head);
  };
  const onEnd = () => finish(null);
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.byteLength;
    const bytes = chunks.length === 1 ? chunk : Buffer.concat(chunks);
    // The request line is split only once the connection's way is decided.
    const head = (complete: boolean): PeekedHead => {
      const text = bytes.toString('latin1');
      const [method = '', path = ''] = text.slice(0, Math.max(0, text.indexOf('\r\n'))).split(' ');
      return { bytes, method, path, complete, websocket: complete && /\r\nupgrade:[ \t]*websocket[ \t]*\r\n/i.test(text) };
    };
    const prefix = Math.min(bytes.byteLength, REALTIME_LINE.byteLength);
    // Not socket.io's: the parser gets it at once, whatever follows.
    if (!bytes.subarray(0, prefix).equals(REALTIME_LINE.subarray(0, prefix))) return finish(head(false));
    if (bytes.includes('\r\n\r\n')) return finish(head(true));
    if (size >= PEEK_MAX_BYTES) finish(head(false));
  };
  // A busy event loop may run this timer before it has read what the client sent in time: the
  // deadline is judged after one more round of reads (setImmediate runs after the poll phase).
  const timer = setTimeout(() => setImmediate(() => finish(null)), timeoutMs);
  timer.unref();
  socket.on('data', onData);
  socket.once('error', onEnd);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.resume();
}

/**
 * Stops the socket's handle reading from the kernel. `pause()` alone stops only the stream's flow:
 * the handle goes on reading into the stream's buffer. A handle sent to another process
 * (`process.send(…, socket)`) is closed here only once that process acknowledges it, and until
 * then whatever it reads is dropped: a websocket client's first frame, sent as soon as the main
 * process answered the upgrade, was lost that way when this process read before the
 * acknowledgement came (the agent's socket never connected). Left in the kernel, it is read by
 * the process the socket went to. `resume()` starts reading again.
 */
function stopReading(socket: import('node:net').Socket): void {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number } | null })._handle;
  if (handle?.reading && typeof handle.readStop === 'function') {
    handle.reading = false;
    handle.readStop();
  }
}

/** What the web process may ask of the main process's services (see `serviceCalls` in web-front.ts). */
export type ServiceCall =
  | 'pbx.status'
  | 'pbx.originate'
  | 'mail.status'
  | 'mail.counts'
  | 'mail.flagged'
  | 'mail.rawBytes'
  | 'mail.reprocess'
  | 'mail.reply'
  | 'settings.reload'
  /** An agent's access changed on a page: their sockets here are checked again. */
  | 'realtime.revalidate'
  /** Notices were written by the pages: pushed to the agents' sockets now. */
  | 'realtime.notices';

/** An error as it crosses to another thread or process: its class by name (so the page shows the right status), its message and code. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** A part of the service that runs in another thread or process is not there right now (starting again, or stopped). */
export class ThreadUnavailableError extends Error {
  override name = 'ThreadUnavailableError';
}

const KNOWN = { NotFoundError, ValidationError, ForbiddenError, ConflictError, ServiceUnavailableError, PbxTimeoutError, PbxUnavailableError, DatabaseBusyError, ThreadUnavailableError } as const;

export function toWire(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromWire(wire: WireError): Error {
  const Known = KNOWN[wire.name as keyof typeof KNOWN];
  const error = Known ? new Known(wire.message) : new Error(wire.message);
  if (wire.code) (error as Error & { code?: string }).code = wire.code;
  return error;
}

/** A call's answer as it comes back from the other thread or process: its value, or the error it ended with. */
export interface Reply {
  call: number;
  value?: unknown;
  error?: WireError;
}

/** Answers awaited from another thread or process, by call number. */
export function createReplies() {
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  return {
    /** The answer to `call`, once `settle` gets it. */
    expect: (call: number): Promise<unknown> => new Promise((resolve, reject) => waiting.set(call, { resolve, reject })),
    settle(reply: Reply): void {
      const waiter = waiting.get(reply.call);
      waiting.delete(reply.call);
      if (reply.error) waiter?.reject(fromWire(reply.error));
      else waiter?.resolve(reply.value);
    },
    /** No answer is coming for `call`. */
    forget: (call: number): boolean => waiting.delete(call),
    /** The other side is gone: every call waiting fails with `error`. */
    failAll(error: Error): void {
      for (const waiter of waiting.values()) waiter.reject(error);
      waiting.clear();
    },
  };
}
