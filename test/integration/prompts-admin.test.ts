import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWav } from '../../src/prompts/wav.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import { sineWav } from '../helpers/wav.js';

let w: WebHarness;
beforeEach(async () => {
  w = await webHarness();
});
afterEach(async () => w.close());

async function upload(root: Awaited<ReturnType<WebHarness['login']>>, path: string, file: Buffer, name = 'prompt.wav') {
  const form = new FormData();
  form.append('file', new Blob([file]), name);
  // As the page's form sends it: the token in the URL, read before the upload is.
  return w.server.inject({ method: 'POST', url: `${path}?_csrf=${encodeURIComponent(root.csrf)}`, headers: { cookie: root.cookie }, payload: form });
}

const current = (lang: string, name: string) => readFileSync(`${w.hotline.config.promptsDir}/${lang}/${name}.wav`);

describe('prompt admin', () => {
  it('lists the prompts per language with their text and lets an admin listen', async () => {
    const root = await w.login('root');
    const page = (await root.get('/admin/prompts')).body;
    expect(page).toContain('Language en');
    expect(page).toContain('Language de');
    expect(page).toContain('Please enter your ticket number, then press the hash key.');
    expect(page).toContain('Bitte geben Sie Ihre Ticketnummer ein');
    const audio = await root.get('/admin/prompts/de/enter-ttn.wav');
    expect(audio.headers['content-type']).toBe('audio/wav');
    expect(readWav(audio.rawPayload).sampleRate).toBe(8000);
    expect((await (await w.login('alice')).get('/admin/prompts/de/enter-ttn.wav')).statusCode).toBe(403);
  });

  it('converts an uploaded stereo 44.1 kHz 24-bit WAV and reverts to the default', async () => {
    const root = await w.login('root');
    const before = current('en', 'goodbye');
    const res = await upload(root, '/admin/prompts/en/goodbye', sineWav(44100, 2, 24, 1.5));
    expect(res.statusCode).toBe(303);
    const after = readWav(current('en', 'goodbye'));
    expect([after.sampleRate, after.channels, after.bitsPerSample]).toEqual([8000, 1, 16]);
    expect(after.frames).toBe(12000);
    expect((await root.get('/admin/prompts')).body).toMatch(/id="prompt-en-goodbye">[^]*?<td>uploaded<\/td>/);
    await root.post('/admin/prompts/en/goodbye/revert');
    expect(current('en', 'goodbye').equals(before)).toBe(true);
  });

  it.each([
    ['an MP3', Buffer.concat([Buffer.from('ID3\x04\x00', 'latin1'), Buffer.alloc(500)]), 'this is an MP3, not a WAV'],
    ['a broken header', sineWav(8000, 1, 16, 1).subarray(0, 30), 'broken WAV header'],
    ['a zero-length file', Buffer.alloc(0), 'the file is empty'],
  ])('refuses %s with a clear message and keeps the prompt', async (_what, file, message) => {
    const root = await w.login('root');
    const before = current('en', 'enter-ttn');
    const res = await upload(root, '/admin/prompts/en/enter-ttn', file);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(message);
    expect(current('en', 'enter-ttn').equals(before)).toBe(true);
  });

  it('refuses an oversize upload and keeps the prompt', async () => {
    const root = await w.login('root');
    const before = current('en', 'enter-ttn');
    const res = await upload(root, '/admin/prompts/en/enter-ttn', Buffer.alloc(21 * 1024 * 1024));
    expect(res.statusCode).toBe(413);
    expect(res.body).toMatch(/too large|file size limit/i);
    expect(current('en', 'enter-ttn').equals(before)).toBe(true);
  });

  it('adds a language whose prompts fall back to English until uploaded', async () => {
    const root = await w.login('root');
    expect(String((await root.post('/admin/prompts', { lang: 'fr' })).headers.location)).toMatch(/done=language-added$/);
    // Said as it is: adding it again adds nothing.
    expect(String((await root.post('/admin/prompts', { lang: 'fr' })).headers.location)).toMatch(/done=language-exists$/);
    expect(w.hotline.prompts.effectiveLanguage('enter-ttn', 'fr')).toBe('en');
    await upload(root, '/admin/prompts/fr/enter-ttn', sineWav(16000, 1, 16, 1));
    expect(w.hotline.prompts.effectiveLanguage('enter-ttn', 'fr')).toBe('fr');
    expect((await root.post('/admin/prompts', { lang: '../etc' })).statusCode).toBe(400);
  });
});
