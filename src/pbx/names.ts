/**
 * Every name Hotline shares with the Asterisk dialplan, in one place.
 * `dialplan/extensions.conf` must use exactly these (a test checks it).
 */

/** Context callers enter; it runs `Stasis(<app>)` and falls back to the default queue. */
export const IVR_CONTEXT = 'hotline-ivr';
/** Context that puts a call into the default queue (service down, died, too slow, shutting down). */
export const FALLBACK_CONTEXT = 'hotline-fallback';
/**
 * Seconds of `TIMEOUT(absolute)` the dialplan sets before `Stasis()`. Asterisk keeps a channel inside
 * `Stasis()` when the app's websocket dies, so this timer is what brings the caller of a dead Hotline to
 * the default queue; the IVR renews it every STASIS_GUARD_RENEW_MS while it runs.
 */
export const STASIS_GUARD_SECONDS = 8;
export const STASIS_GUARD_RENEW_MS = 2500;
/** The dialplan function the guard is set through. */
export const ABSOLUTE_TIMEOUT = 'TIMEOUT(absolute)';
/** Context the service `continue`s a call into once the route is chosen. */
export const ROUTE_CONTEXT = 'hotline-route';
/** Extensions of ROUTE_CONTEXT. */
export const ROUTE_EXTENSIONS = { agent: 'agent', queue: 'queue', voicemail: 'voicemail' } as const;
/** What the dialplan passes `Stasis()` after the app's name when a caller may leave a message. */
export const VOICEMAIL_ARG = 'voicemail';

/** Channel variables the service sets before `continue`. */
export const VARS = {
  /** `agent` (ring the owner, then the queue) or `queue`. Empty = no route chosen: the dialplan falls back. */
  route: 'HOTLINE_ROUTE',
  /** The owner's dial string, for route `agent`. */
  target: 'HOTLINE_TARGET',
  /** Seconds to ring the owner before falling through to the queue. */
  ringTimeout: 'HOTLINE_RING_TIMEOUT',
  /** Asterisk queue name (queues.conf) that takes the call. */
  queue: 'HOTLINE_QUEUE',
  /** Dial target from the queue → extension map, for queues without an Asterisk queue. */
  queueTarget: 'HOTLINE_QUEUE_TARGET',
  /** The ticket's TTN (empty when none). */
  ttn: 'HOTLINE_TTN',
  /** Hotline's call id, for joining PBX events to the call record. */
  callId: 'HOTLINE_CALL_ID',
  /** `1` when the caller's number could not be verified (fallback after failed tries). */
  unverified: 'HOTLINE_UNVERIFIED',
  /** A prompt file (no extension) the dialplan plays before ringing, e.g. "connecting you to your agent"; empty for none. */
  announce: 'HOTLINE_ANNOUNCE',
  /** The Hotline instance that took the call (config `instanceId`), for whoever looks at the channel. */
  instance: 'HOTLINE_INSTANCE',
  /** Seconds the queue rings before the caller may leave a message; empty: no limit (the caller waits on). */
  queueTimeout: 'HOTLINE_QUEUE_TIMEOUT',
  /** The Stasis app (this instance's) that takes a message when nobody answered in time; empty: no voicemail. */
  voicemailApp: 'HOTLINE_VOICEMAIL_APP',
} as const;

/** Context click-to-dial calls are originated into (the agent's phone answers, then the customer is dialled). */
export const DIAL_CONTEXT = 'hotline-dial';
/** Dialplan global: the site's context for outbound calls, which `hotline-dial` hands numbers to. */
export const OUTBOUND_CONTEXT_GLOBAL = 'HOTLINE_OUTBOUND_CONTEXT';

/** Dialplan global with the queue used when the service is unreachable. */
export const DEFAULT_QUEUE_GLOBAL = 'HOTLINE_DEFAULT_QUEUE';
/** Channel variable Asterisk sets after `Stasis()`; `FAILED` when the app is not registered. */
export const STASIS_STATUS = 'STASISSTATUS';

/** Control characters (CR, LF, NUL …), which no value sent to Asterisk may carry (checked in ami.ts and ari.ts). */
export const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Several instances (README "Running several instances"): the contexts that offer a call to them,
 * the site's globals they read, and the dialplan's own working variables there.
 */
export const BROADCAST_CONTEXT = 'hotline-ivr-broadcast';
export const FAILOVER_CONTEXT = 'hotline-ivr-failover';
export const INSTANCES_GLOBALS = {
  /** StasisBroadcast's claim timeout in ms (default 500). */
  claimMs: 'HOTLINE_CLAIM_MS',
  /** Regular expression of the apps a call is offered to (default ^hotline). */
  apps: 'HOTLINE_APPS',
  /** Apps tried in turn on an Asterisk without broadcast, `&`-separated. */
  failoverApps: 'HOTLINE_FAILOVER_APPS',
} as const;
export const FAILOVER_WORKING_VARS = ['HOTLINE_TRY', 'HOTLINE_APP'] as const;
