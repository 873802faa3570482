// `npm run prompts`: generates the default IVR prompts from ivr-prompts/manifest.json with
// espeak-ng and sox (Debian packages, needed only here, never by the running service):
// ivr-prompts/<lang>/<name>.wav as PCM, mono, 16-bit, 8000 Hz.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../ivr-prompts/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { prompts: Record<string, Record<string, string>> };
const voices: Record<string, string> = { en: 'en-gb', de: 'de' };
const work = mkdtempSync(join(tmpdir(), 'hotline-prompts-'));
try {
  for (const [name, texts] of Object.entries(manifest.prompts)) {
    for (const [lang, text] of Object.entries(texts)) {
      mkdirSync(join(root, lang), { recursive: true });
      const raw = join(work, `${lang}-${name}.wav`);
      execFileSync('espeak-ng', ['-v', voices[lang] ?? lang, '-s', '150', '-w', raw, text]);
      // Telephony format; a little gain headroom and a short fade so prompts do not click.
      execFileSync('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', join(root, lang, `${name}.wav`), 'gain', '-n', '-3', 'fade', '0.01', '-0', '0.05']);
      console.log(`${lang}/${name}.wav`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
