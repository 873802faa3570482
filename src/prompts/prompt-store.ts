import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.js';
import { toTelephonyWav, WavError } from './wav.js';

const DEFAULTS_DIR = fileURLToPath(new URL('../../ivr-prompts/', import.meta.url));
const LANGUAGE = /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/i;
const MAX_UPLOAD = 20 * 1024 * 1024;

export interface PromptInfo {
  name: string;
  /** What the prompt says, from the manifest (English text where the language has none). */
  text: string;
  /** default: the shipped file; custom: an admin's upload; fallback: none in this language, English is played. */
  source: 'default' | 'custom' | 'fallback';
}

/**
 * The IVR prompts Asterisk plays: `<dir>/<lang>/<name>.wav`, starting as copies of the shipped
 * defaults (`ivr-prompts/`). Uploads are converted to 8 kHz mono 16-bit PCM and replace a file
 * atomically (written beside it, then renamed), so a call never hears half a prompt.
 */
export function createPromptStore(options: { dir: string; defaultsDir?: string }) {
  const defaults = options.defaultsDir ?? DEFAULTS_DIR;
  const dir = options.dir;
  const manifest = JSON.parse(readFileSync(join(defaults, 'manifest.json'), 'utf8')) as { prompts: Record<string, Record<string, string>> };
  const names = Object.keys(manifest.prompts);

  const file = (lang: string, name: string) => join(dir, lang, `${name}.wav`);
  const defaultFile = (lang: string, name: string) => join(defaults, lang, `${name}.wav`);
  const check = (lang: string, name: string) => {
    if (!LANGUAGE.test(lang)) throw new ValidationError(`"${lang}" is not a language code (like en, de, pt-br)`);
    if (!names.includes(name)) throw new ValidationError(`there is no prompt "${name}"; prompts: ${names.join(', ')}`);
  };
  const writeAtomically = (target: string, bytes: Buffer) => {
    mkdirSync(join(target, '..'), { recursive: true });
    // A hidden name with no sound extension: Asterisk never picks the half-written file.
    const temp = join(target, '..', `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      writeFileSync(temp, bytes);
      renameSync(temp, target);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  };

  /**
   * Copies shipped defaults where the prompt folder has no file yet (first start, new prompts in an
   * update), each written beside its place and renamed, so that a full or read-only disk leaves no
   * half a prompt. What could not be copied is returned (the service starts all the same: a prompt
   * without its file plays Asterisk's own sound, config `prompts`).
   */
  function install(): Array<{ file: string; error: string }> {
    const failed: Array<{ file: string; error: string }> = [];
    for (const lang of readdirSync(defaults).filter((d) => LANGUAGE.test(d) && statSync(join(defaults, d)).isDirectory())) {
      for (const name of names) {
        if (existsSync(defaultFile(lang, name)) && !existsSync(file(lang, name))) {
          try {
            writeAtomically(file(lang, name), readFileSync(defaultFile(lang, name)));
          } catch (error) {
            failed.push({ file: file(lang, name), error: (error as Error).message });
          }
        }
      }
    }
    return failed;
  }

  const durations = new Map<string, { mtimeMs: number; size: number; ms: number | null }>();

  const isCustom = (lang: string, name: string) =>
    existsSync(file(lang, name)) && (!existsSync(defaultFile(lang, name)) || !readFileSync(file(lang, name)).equals(readFileSync(defaultFile(lang, name))));

  return {
    install,
    dir,
    names: () => [...names],
    languages(): string[] {
      const langs = existsSync(dir) ? readdirSync(dir).filter((d) => LANGUAGE.test(d) && statSync(join(dir, d)).isDirectory()) : [];
      return [...new Set(['en', ...langs])].sort((a, b) => (a === 'en' ? -1 : b === 'en' ? 1 : a.localeCompare(b)));
    },
    list(lang: string): PromptInfo[] {
      return names.map((name) => ({
        name,
        text: manifest.prompts[name]?.[lang] ?? manifest.prompts[name]?.en ?? '',
        source: !existsSync(file(lang, name)) ? 'fallback' : isCustom(lang, name) ? 'custom' : 'default',
      }));
    },
    /** The language whose file a caller in `lang` hears: their own when it exists, else English. */
    effectiveLanguage(name: string, lang: string): string | null {
      if (LANGUAGE.test(lang) && existsSync(file(lang, name))) return lang;
      return existsSync(file('en', name)) ? 'en' : null;
    },
    /**
     * How long the prompt plays, from its WAV header (data bytes ÷ byte rate); null when there is no
     * such file or it cannot be read. Remembered per file until the file changes.
     */
    durationMs(lang: string, name: string): number | null {
      const path = file(lang, name);
      try {
        const { mtimeMs, size } = statSync(path);
        const known = durations.get(path);
        if (known && known.mtimeMs === mtimeMs && known.size === size) return known.ms;
        // Only the header: this runs as a call's prompt starts.
        const header = Buffer.alloc(44);
        const fd = openSync(path, 'r');
        let read: number;
        try {
          read = readSync(fd, header, 0, 44, 0);
        } finally {
          closeSync(fd);
        }
        const byteRate = read === 44 ? header.readUInt32LE(28) : 0;
        const ms = byteRate > 0 ? Math.ceil(((size - 44) * 1000) / byteRate) : null;
        durations.set(path, { mtimeMs, size, ms });
        return ms;
      } catch {
        return null;
      }
    },
    read(lang: string, name: string): Buffer | null {
      check(lang, name);
      return existsSync(file(lang, name)) ? readFileSync(file(lang, name)) : null;
    },
    /** Converts and installs an upload; a bad file changes nothing and says why. */
    upload(lang: string, name: string, bytes: Buffer): { seconds: number } {
      check(lang, name);
      if (bytes.length > MAX_UPLOAD) throw new ValidationError(`the file is larger than ${MAX_UPLOAD / 1024 / 1024} MB`);
      let converted: Buffer;
      try {
        converted = toTelephonyWav(bytes);
      } catch (error) {
        if (error instanceof WavError) throw new ValidationError(`cannot use this file: ${error.message}`);
        throw error;
      }
      writeAtomically(file(lang, name), converted);
      return { seconds: (converted.length - 44) / 16000 };
    },
    /** Puts the shipped prompt back (or removes the upload where nothing was shipped: English is played). */
    revert(lang: string, name: string): void {
      check(lang, name);
      if (existsSync(defaultFile(lang, name))) writeAtomically(file(lang, name), readFileSync(defaultFile(lang, name)));
      else if (existsSync(file(lang, name))) renameSync(file(lang, name), join(dir, lang, `.${name}.reverted-${Date.now()}`));
    },
    /** Adds a language (a folder for its prompts); false when it was there already. */
    addLanguage(lang: string): boolean {
      if (!LANGUAGE.test(lang)) throw new ValidationError(`"${lang}" is not a language code (like en, de, pt-br)`);
      const folder = join(dir, lang.toLowerCase());
      if (existsSync(folder)) return false;
      mkdirSync(folder, { recursive: true });
      return true;
    },
  };
}

export type PromptStore = ReturnType<typeof createPromptStore>;
