import { describe, expect, it } from 'vitest';
import { readWav, toTelephonyWav, WavError } from '../../src/prompts/wav.js';

/** A PCM WAV of a 440 Hz sine at half scale, in any format (built here, independent of the code under test). */
function sineWav(o: { rate: number; channels: number; bits: 8 | 16 | 24 | 32; seconds: number; extensible?: boolean }): Buffer {
  const frames = Math.round(o.rate * o.seconds);
  const bytes = o.bits / 8;
  const data = Buffer.alloc(frames * o.channels * bytes);
  for (let f = 0; f < frames; f++) {
    const v = 0.5 * Math.sin((2 * Math.PI * 440 * f) / o.rate);
    for (let c = 0; c < o.channels; c++) {
      const at = (f * o.channels + c) * bytes;
      if (o.bits === 8) data[at] = Math.round(v * 127) + 128;
      else if (o.bits === 16) data.writeInt16LE(Math.round(v * 32767), at);
      else if (o.bits === 24) data.writeIntLE(Math.round(v * 8388607), at, 3);
      else data.writeInt32LE(Math.round(v * 2147483647), at);
    }
  }
  const fmtSize = o.extensible ? 40 : 16;
  const fmt = Buffer.alloc(fmtSize);
  fmt.writeUInt16LE(o.extensible ? 0xfffe : 1, 0);
  fmt.writeUInt16LE(o.channels, 2);
  fmt.writeUInt32LE(o.rate, 4);
  fmt.writeUInt32LE(o.rate * o.channels * bytes, 8);
  fmt.writeUInt16LE(o.channels * bytes, 12);
  fmt.writeUInt16LE(o.bits, 14);
  if (o.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(o.bits, 18);
    fmt.writeUInt16LE(1, 24); // KSDATAFORMAT_SUBTYPE_PCM starts with 0x0001
  }
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'ascii');
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const list = chunk('LIST', Buffer.from('INFOISFT\x06\x00\x00\x00tests\x00', 'latin1'));
  const body = Buffer.concat([Buffer.from('WAVE', 'ascii'), chunk('fmt ', fmt), list, chunk('data', data)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const EXPECTED_HEADER = (dataBytes: number) => {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
};

describe('prompt conversion to 8 kHz mono 16-bit PCM', () => {
  it.each([
    ['stereo 44.1 kHz 24-bit', { rate: 44100, channels: 2, bits: 24 as const, seconds: 2.5 }],
    ['mono 48 kHz 16-bit', { rate: 48000, channels: 1, bits: 16 as const, seconds: 1.2 }],
    ['stereo 22.05 kHz 8-bit', { rate: 22050, channels: 2, bits: 8 as const, seconds: 3 }],
    ['mono 16 kHz 32-bit (extensible header)', { rate: 16000, channels: 1, bits: 32 as const, seconds: 0.7, extensible: true }],
    ['mono 8 kHz 16-bit already', { rate: 8000, channels: 1, bits: 16 as const, seconds: 1 }],
    ['six channels 96 kHz 24-bit', { rate: 96000, channels: 6, bits: 24 as const, seconds: 0.5 }],
  ])('converts %s, keeping the duration within 1% and writing exactly the telephony header', (_name, format) => {
    const out = toTelephonyWav(sineWav(format));
    const dataBytes = out.length - 44;
    expect(out.subarray(0, 44)).toEqual(EXPECTED_HEADER(dataBytes));
    const seconds = dataBytes / 2 / 8000;
    expect(Math.abs(seconds - format.seconds) / format.seconds).toBeLessThan(0.01);
    // The tone survives: RMS of a half-scale sine is 0.5/√2.
    const audio = readWav(out);
    const rms = Math.sqrt(audio.samples.reduce((a, v) => a + v * v, 0) / audio.samples.length);
    expect(rms).toBeGreaterThan(0.3);
    expect(rms).toBeLessThan(0.4);
  });

  it.each([
    ['an MP3', Buffer.concat([Buffer.from('ID3\x04\x00\x00', 'latin1'), Buffer.alloc(100)]), /this is an MP3, not a WAV/],
    ['an MP3 without tags', Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /this is an MP3/],
    ['an empty file', Buffer.alloc(0), /the file is empty/],
    ['a text file', Buffer.from('hello, I am not audio at all'), /not a WAV file/],
    ['a header cut short', sineWav({ rate: 8000, channels: 1, bits: 16, seconds: 1 }).subarray(0, 30), /broken WAV header/],
    ['a WAV without samples', (() => { const w = sineWav({ rate: 8000, channels: 1, bits: 16, seconds: 0 }); return w; })(), /no audio/],
  ])('refuses %s with a clear message', (_name, input, message) => {
    expect(() => toTelephonyWav(input)).toThrow(WavError);
    expect(() => toTelephonyWav(input)).toThrow(message);
  });

  it('refuses float WAVs: not PCM', () => {
    const w = sineWav({ rate: 8000, channels: 1, bits: 32, seconds: 0.1 });
    w.writeUInt16LE(3, 20);
    expect(() => toTelephonyWav(w)).toThrow(/not PCM \(format IEEE float\)/);
  });
});
