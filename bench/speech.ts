// `npm run bench:speech`: can Debian's offline recogniser take a ticket number said on the phone?
// Spoken TTNs (valid check digit) and single digits are made with espeak-ng, brought to the telephone
// rate (8 kHz, as Asterisk records a call) with sox, and recognised by pocketsphinx_continuous
// restricted to a digits grammar (JSGF), once from the 8 kHz audio brought back up to the model's
// 16 kHz and once from 16 kHz speech (what a wideband call could give). Needs the Debian packages
// espeak-ng, sox, pocketsphinx, pocketsphinx-en-us. SPEECH_HMM=<dir>: another acoustic model
// (an 8 kHz one is then given the 8 kHz audio as it is, SPEECH_RATE=8000).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { luhnCheckDigit } from '../src/core/ttn/check-digit.js';

const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const work = mkdtempSync(join(tmpdir(), 'hotline-speech-'));
const grammar = join(work, 'digits.gram');
writeFileSync(grammar, `#JSGF V1.0;\ngrammar digits;\npublic <number> = <digit>+;\n<digit> = ${[...WORDS, 'oh'].join(' | ')};\n`);
const hmm = process.env.SPEECH_HMM;
const modelRate = Number(process.env.SPEECH_RATE ?? 16000);

/** A TTN as Hotline's default generator makes them: date, counter, check digit (14 digits). */
function ttn(n: number): string {
  const body = `2026120${String((n * 7919) % 1_000_000).padStart(6, '0')}`;
  return body + luhnCheckDigit.compute(body);
}

function recognise(text: string, voice: string, rate: 8000 | 16000): string {
  const raw = join(work, 'raw.wav');
  const said = join(work, `said-${rate}.wav`);
  const fed = join(work, 'fed.wav');
  execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', raw, text]);
  execFileSync('sox', [raw, '-r', String(rate), '-c', '1', '-b', '16', '-e', 'signed-integer', said]);
  execFileSync('sox', [said, '-r', String(modelRate), fed]);
  const args = ['-infile', fed, '-jsgf', grammar, '-logfn', '/dev/null', ...(hmm ? ['-hmm', hmm] : []), ...(modelRate === 8000 ? ['-samprate', '8000', '-nfft', '256'] : [])];
  const out = execFileSync('pocketsphinx_continuous', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split(/\s+/).filter(Boolean).map((w) => (w === 'oh' ? '0' : String(WORDS.indexOf(w)))).join('');
}

const validates = (digits: string) => luhnCheckDigit.validate(digits);
try {
  for (const rate of [8000, 16000] as const) {
    let right = 0;
    let rejected = 0;
    let wrongAccepted = 0;
    const started = performance.now();
    const cases = Array.from({ length: 12 }, (_, i) => ttn(i + 1));
    for (const number of cases) {
      const heard = recognise(number.split('').map((d) => WORDS[Number(d)]).join(' '), 'en-us', rate);
      if (heard === number) right++;
      else if (validates(heard)) wrongAccepted++;
      else rejected++;
      console.log(`${rate} Hz  said ${number}  heard ${heard || '(nothing)'}`);
    }
    const perTtnMs = (performance.now() - started) / cases.length;
    let digits = 0;
    for (const [d, word] of WORDS.entries()) if (recognise(word, 'en-us', rate) === String(d)) digits++;
    console.log(
      `RESULT ${JSON.stringify({ rate, ttns: cases.length, right, rejectedByCheckDigit: rejected, wrongButValid: wrongAccepted, singleDigitsRight: `${digits}/10`, msPerTtnIncludingSynthesis: Math.round(perTtnMs) })}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
