import { ValidationError } from './errors.js';
import type { SettingsStore } from './ports.js';

/** Site-wide security settings an admin sets on /admin/security. */
export interface SecuritySettings {
  /** A caller who keys a ticket's number is routed as verified only when their number is on file for the ticket's customer. */
  verifyCallerNumber: boolean;
  /** Numbers click-to-dial may call besides the ticket's customer's: E.164 numbers, or prefixes ending in `*` (`+4930*`). */
  dialPatterns: string[];
}

const KEY = 'security';
export const SECURITY_DEFAULTS: SecuritySettings = { verifyCallerNumber: false, dialPatterns: [] };
const PATTERN = /^\+\d{1,15}\*?$/;

export async function loadSecuritySettings(settings: SettingsStore): Promise<SecuritySettings> {
  return { ...SECURITY_DEFAULTS, ...((await settings.get<Partial<SecuritySettings>>(KEY)) ?? {}) };
}

/** Patterns one per line or comma-separated, checked. */
export function parseDialPatterns(text: string): string[] {
  const patterns = text.split(/[\s,]+/).filter(Boolean);
  for (const p of patterns) if (!PATTERN.test(p)) throw new ValidationError(`"${p.slice(0, 40)}" is not a dial pattern: write +4930123456, or a prefix such as +4930*`);
  if (patterns.length > 200) throw new ValidationError('at most 200 dial patterns');
  return patterns;
}

export async function saveSecuritySettings(settings: SettingsStore, value: SecuritySettings): Promise<void> {
  await settings.set(KEY, value);
}

/** May click-to-dial call `number` (E.164) for a ticket whose customer has `customerPhones`? */
export function dialAllowed(number: string, customerPhones: readonly string[], patterns: readonly string[]): boolean {
  if (customerPhones.includes(number)) return true;
  return patterns.some((p) => (p.endsWith('*') ? number.startsWith(p.slice(0, -1)) : number === p));
}
