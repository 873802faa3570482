/**
 * WAV reading and writing for IVR prompts: any PCM WAV in, the format Asterisk plays without
 * transcoding out (PCM, mono, 16-bit, 8000 Hz). Pure TypeScript, so the service needs no sox.
 */

/** A WAV that cannot be used, with a sentence saying why. */
export class WavError extends Error {
  override name = 'WavError';
}

export interface PcmAudio {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Samples per channel. */
  frames: number;
  /** Samples of every channel as numbers in [-1, 1), channel-interleaved. */
  samples: Float64Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Reads a PCM WAV (8/16/24/32-bit, any rate and channel count); throws WavError for anything else. */
export function readWav(data: Buffer): PcmAudio {
  if (data.length === 0) throw new WavError('the file is empty');
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    const mp3 = data.toString('ascii', 0, 3) === 'ID3' || (data[0] === 0xff && (data[1]! & 0xe0) === 0xe0);
    throw new WavError(mp3 ? 'this is an MP3, not a WAV: export the prompt as WAV (PCM)' : 'not a WAV file (no RIFF/WAVE header)');
  }
  let offset = 12;
  let format: { tag: number; channels: number; rate: number; bits: number; blockAlign: number } | null = null;
  let pcm: Buffer | null = null;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > data.length) throw new WavError('broken WAV header (fmt chunk too short)');
      let tag = data.readUInt16LE(body);
      if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 40) tag = data.readUInt16LE(body + 24);
      format = { tag, channels: data.readUInt16LE(body + 2), rate: data.readUInt32LE(body + 4), blockAlign: data.readUInt16LE(body + 12), bits: data.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      // Some writers leave the size at 0 or 0xFFFFFFFF when streaming: take what is there.
      const end = size === 0 || body + size > data.length ? data.length : body + size;
      pcm = data.subarray(body, end);
      if (format) break;
    }
    offset = body + size + (size % 2);
  }
  if (!format) throw new WavError('broken WAV header (no fmt chunk)');
  if (format.tag !== WAVE_FORMAT_PCM) throw new WavError(`the WAV is not PCM (format ${format.tag === 3 ? 'IEEE float' : `code ${format.tag}`}): export it as PCM`);
  if (![8, 16, 24, 32].includes(format.bits)) throw new WavError(`${format.bits}-bit samples are not supported (8, 16, 24 or 32-bit PCM are)`);
  if (format.channels < 1 || format.channels > 8) throw new WavError(`broken WAV header (${format.channels} channels)`);
  if (format.rate < 1000 || format.rate > 384_000) throw new WavError(`broken WAV header (sample rate ${format.rate})`);
  if (!pcm || pcm.length === 0) throw new WavError('the WAV has no audio (empty data chunk)');
  const bytes = format.bits / 8;
  const frameBytes = bytes * format.channels;
  const frames = Math.floor(pcm.length / frameBytes);
  if (frames === 0) throw new WavError('the WAV has no audio (empty data chunk)');
  const samples = new Float64Array(frames * format.channels);
  for (let i = 0; i < samples.length; i++) {
    const at = i * bytes;
    switch (format.bits) {
      case 8:
        samples[i] = (pcm[at]! - 128) / 128;
        break;
      case 16:
        samples[i] = pcm.readInt16LE(at) / 32768;
        break;
      case 24:
        samples[i] = pcm.readIntLE(at, 3) / 8388608;
        break;
      default:
        samples[i] = pcm.readInt32LE(at) / 2147483648;
    }
  }
  return { sampleRate: format.rate, channels: format.channels, bitsPerSample: format.bits, frames, samples };
}

/** Mixes down to mono and resamples to `rate` (low-pass by averaging over the source span, then linear interpolation). */
export function toMono(audio: PcmAudio, rate: number): Float64Array {
  const { channels, frames, samples } = audio;
  const mono = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c]!;
    mono[f] = sum / channels;
  }
  if (audio.sampleRate === rate) return mono;
  const ratio = audio.sampleRate / rate;
  const outFrames = Math.max(1, Math.round(frames / ratio));
  const out = new Float64Array(outFrames);
  const half = Math.max(0, ratio / 2);
  for (let i = 0; i < outFrames; i++) {
    const center = i * ratio;
    if (ratio > 1) {
      // Downsampling: average the source samples this output sample stands for (anti-aliasing).
      const from = Math.max(0, Math.floor(center - half));
      const to = Math.min(frames - 1, Math.ceil(center + half));
      let sum = 0;
      for (let j = from; j <= to; j++) sum += mono[j]!;
      out[i] = sum / (to - from + 1);
    } else {
      const j = Math.floor(center);
      const t = center - j;
      out[i] = mono[Math.min(j, frames - 1)]! * (1 - t) + mono[Math.min(j + 1, frames - 1)]! * t;
    }
  }
  return out;
}

/** A canonical 44-byte-header WAV: PCM, mono, 16-bit, at `rate`. */
export function writeWav(mono: Float64Array, rate: number): Buffer {
  const data = Buffer.alloc(mono.length * 2);
  for (let i = 0; i < mono.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(mono[i]! * 32768))), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Any PCM WAV → 8 kHz mono 16-bit PCM WAV, the telephony format. */
export function toTelephonyWav(input: Buffer): Buffer {
  return writeWav(toMono(readWav(input), 8000), 8000);
}

/** How long a WAV plays, in ms: 0 for one without audio, null for what is no readable WAV. */
export function wavDurationMs(data: Buffer): number | null {
  try {
    const audio = readWav(data);
    return Math.round((audio.frames * 1000) / audio.sampleRate);
  } catch (error) {
    return error instanceof WavError && /no audio/.test(error.message) ? 0 : null;
  }
}
