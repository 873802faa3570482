import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { TtnGenerator } from './core/ttn/generator.js';
import { assertTtnGenerator } from './core/ttn/generator.js';

/**
 * Loads a site's own TTN generator from a module file (as OTRS allows), validating
 * its shape: any problem is a clear start-up error, never a silent fallback.
 */
export async function loadTtnGeneratorModule(path: string): Promise<TtnGenerator> {
  if (!existsSync(path)) throw new Error(`TTN generator module ${path} does not exist (config key ttnGeneratorModule)`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`TTN generator module ${path} failed to load: ${(error as Error).message}`);
  }
  return assertTtnGenerator(mod.default ?? mod.generator, path);
}
