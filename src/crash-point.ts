/**
 * Fault injection for the crash tests: with `HOTLINE_CRASH_AT=<name>` in its environment, the
 * process kills itself (SIGKILL, as a power cut or the OOM killer would) when it reaches that
 * point. Read at each call, not at import; unset, it costs one property read.
 *
 * Points: `mail.stored` (the raw message is on disk, the sender not yet told), `mail.ttn` (the new
 * ticket's number is taken), `mail.filing` (inside the filing transaction, after an attachment),
 * `mail.filed` (the filing committed, nothing published or sent yet), `outbox.sent` (the relay took
 * a message, not yet marked sent).
 */
export function crashPoint(name: string): void {
  if (process.env.HOTLINE_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
