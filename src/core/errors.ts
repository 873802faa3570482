/** Domain errors; the HTTP layer and the CLI map each to one status / exit message. */

/** Something asked for does not exist — or exists but the asker may not see it (same answer on purpose). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The input breaks a rule the user can fix. */
export class ValidationError extends Error {
  override name = 'ValidationError';
}

/** The asker may see the thing but not change it. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}

/** The change clashes with existing data (a taken login, a second default queue). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** A generated TTN is already taken; the ticket service retries with a new one. */
export class DuplicateTtnError extends Error {
  override name = 'DuplicateTtnError';
}

/** A part of Hotline the request needs is not running here (mail, say); nothing was changed. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}
