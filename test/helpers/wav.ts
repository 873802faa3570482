/** A PCM WAV of a 440 Hz sine at half scale (stereo/mono, 16 or 24-bit), for upload tests. */
export function sineWav(rate: number, channels: number, bits: 16 | 24, seconds: number): Buffer {
  const frames = Math.round(rate * seconds);
  const bytes = bits / 8;
  const data = Buffer.alloc(frames * channels * bytes);
  for (let f = 0; f < frames; f++) {
    const v = 0.5 * Math.sin((2 * Math.PI * 440 * f) / rate);
    for (let c = 0; c < channels; c++) {
      const at = (f * channels + c) * bytes;
      if (bits === 16) data.writeInt16LE(Math.round(v * 32767), at);
      else data.writeIntLE(Math.round(v * 8388607), at, 3);
    }
  }
  return pcmWav(data, rate, channels, bits);
}

/** PCM samples (little-endian, interleaved) in a WAV file with the plain 44-byte header. */
export function pcmWav(data: Buffer, rate: number, channels = 1, bits: 16 | 24 = 16): Buffer {
  const bytes = bits / 8;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * bytes, 28);
  h.writeUInt16LE(channels * bytes, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
