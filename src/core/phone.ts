/**
 * Normalises a phone number for storage and comparison: separators
 * (spaces, dashes, dots, slashes, brackets) removed, `00` → `+`, a leading
 * trunk `0` → `+<countryCode>`. Short internal extensions stay as digits.
 * Returns null when nothing number-like is left (letters, empty, "anonymous").
 *
 * @param countryCode digits only, without `+`, e.g. `49`
 */
export function normalisePhone(raw: string | null | undefined, countryCode: string): string | null {
  if (raw == null) return null;
  const compact = raw.trim().replace(/[\s\-./()[\]]/g, '');
  if (!/^\+?\d+$/.test(compact)) return null;
  if (compact.startsWith('+')) return compact.length > 1 ? compact : null;
  if (compact.startsWith('00')) return compact.length > 2 ? `+${compact.slice(2)}` : null;
  if (compact.startsWith('0')) return compact.length > 1 ? `+${countryCode}${compact.slice(1)}` : null;
  return compact;
}
