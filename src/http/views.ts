import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

const DEFAULT_DIR = fileURLToPath(new URL('../../web/templates/', import.meta.url));

/**
 * Server-rendered pages from Eta templates in `web/templates`, each of which a site may
 * replace by a file of the same name in `overrideDir` (corporate design that survives updates).
 * Output is HTML-escaped unless a template asks for raw output (`<%~`).
 */
export function createViews(overrideDir?: string) {
  const eta = new Eta({ views: DEFAULT_DIR, autoEscape: true, cache: true, defaultExtension: '.eta' });
  eta.resolvePath = (template: string) => {
    const name = template.endsWith('.eta') ? template : `${template}.eta`;
    const clean = normalize(name).replace(/^(\.\.(\/|\\|$))+/, '');
    if (isAbsolute(clean) || clean.startsWith('..')) throw new Error(`template name "${template}" is not allowed`);
    if (overrideDir) {
      const custom = join(overrideDir, clean);
      if (existsSync(custom)) return custom;
    }
    return join(DEFAULT_DIR, clean);
  };
  return {
    render: (name: string, data: object): string => eta.render(name, data),
  };
}

export type Views = ReturnType<typeof createViews>;
