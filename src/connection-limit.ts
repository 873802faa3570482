/**
 * Connections open per client address, with a cap: what keeps one client (or one attacker) from
 * holding every socket — and the file descriptors the calls need. Used by the HTTP server and the
 * SMTP listener.
 */
export function createConnectionLimit(maxPerAddress: number) {
  const open = new Map<string, number>();
  return {
    /** Counts a new connection from `address`; false (and not counted) when that would pass the cap. */
    admit(address: string): boolean {
      const count = (open.get(address) ?? 0) + 1;
      if (count > maxPerAddress) return false;
      open.set(address, count);
      return true;
    },
    /** A connection `admit` counted has closed. */
    release(address: string): void {
      const count = (open.get(address) ?? 1) - 1;
      if (count > 0) open.set(address, count);
      else open.delete(address);
    },
  };
}
