import { readFileSync } from 'node:fs';

/**
 * File descriptors kept back for the call path and the service itself: ARI's kept-alive REST
 * sockets (up to 64) and its websocket, AMI, the database and its WAL, the logs, the threads.
 */
export const SERVICE_RESERVE = 256;

/** The process's limit on open files (Linux: /proc/self/limits); null where it cannot be read or is unlimited. */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * How many connections web clients and SMTP senders may hold at once: together never more than the
 * limit less {@link SERVICE_RESERVE}, so that a flood of clients cannot take the descriptors a
 * call's next ARI request needs (then Asterisk's request fails with EMFILE and the caller waits
 * for the dialplan's guard). Four fifths for the web (pages and agents' sockets), the rest for mail.
 * Null: no limit known, no caps.
 */
export function clientConnectionBudget(limit = openFileLimit()): { web: number; smtp: number } | null {
  if (limit === null) return null;
  const forClients = Math.max(20, limit - SERVICE_RESERVE);
  const smtp = Math.max(4, Math.floor(forClients / 5));
  return { web: Math.max(16, forClients - smtp), smtp };
}
