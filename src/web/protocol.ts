// Messages between the main thread (the call path, the HTTP front, socket.io) and the web thread
// (pages and API). Requests and their bodies go one way, responses and calls into the main thread's
// services the other.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import { PbxTimeoutError, PbxUnavailableError } from '../pbx/with-timeout.js';
import { DatabaseBusyError } from '../storage/db-health.js';

/** Main → web thread. */
export type ToWeb =
  | { type: 'request'; id: number; method: string; url: string; headers: IncomingHttpHeaders; remoteAddress: string; body: boolean }
  /** A piece of the request body the thread asked for (`pull`); `end` after the last. */
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  /** The client went away before the body was complete. */
  | { type: 'aborted'; id: number }
  | { type: 'result'; call: number; value?: unknown; error?: WireError }
  /** The second answer of a call that has one (a click-to-dial's outcome). */
  | { type: 'later'; call: number; value?: unknown; error?: WireError }
  /** Finish, close the database and exit. */
  | { type: 'stop' };

/** Web thread → main. */
export type FromWeb =
  | { type: 'ready' }
  | { type: 'response'; id: number; status: number; headers: OutgoingHttpHeaders; body: Uint8Array }
  | { type: 'pull'; id: number }
  | { type: 'call'; call: number; method: ServiceCall; args: unknown[] };

/** What the web thread may ask of the main thread's services (see `serviceCalls` in web-front.ts). */
export type ServiceCall =
  | 'pbx.status'
  | 'pbx.originate'
  | 'mail.status'
  | 'mail.counts'
  | 'mail.flagged'
  | 'mail.rawBytes'
  | 'mail.reprocess'
  | 'mail.reply'
  | 'ttn.reload';

/** An error as it crosses the thread: its class by name (so the page shows the right status), its message and code. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

/** A part of the service that runs on another thread is not there right now (starting again, or stopped). */
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

/** A call's answer as it comes back from the other thread: its value, or the error it ended with. */
export interface Reply {
  call: number;
  value?: unknown;
  error?: WireError;
}

/** Answers awaited from another thread, by call number. */
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
    /** The other thread is gone: every call waiting fails with `error`. */
    failAll(error: Error): void {
      for (const waiter of waiting.values()) waiter.reject(error);
      waiting.clear();
    },
  };
}
