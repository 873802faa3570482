// Lynx, the text browser, driven as a person types: a script of keys (`-cmd_script`), moving from
// link to field with the arrow keys, typing, pressing Enter. Where the cursor goes is worked out
// from the page's HTML (links and fields in document order, as lynx steps through them).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const LYNX = '/usr/bin/lynx';

/** One place lynx's cursor can be: a link, a form field, or one line of a text area. */
export interface Anchor {
  tag: string;
  name: string;
  type: string;
  value: string;
  /** A link's address. */
  href: string;
  /** The text of a link or button. */
  label: string;
  /** The action of the form a field is in ('' outside forms). */
  form: string;
  /** For a text area: which of its lines (0 first). */
  line: number;
  /** Where it starts in the page's HTML. */
  at: number;
}

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? '';

/** The links and fields of a page in the order lynx's Down arrow visits them (a text area: one per line). */
export function anchorsOf(html: string): Anchor[] {
  // Scripts and the head are blanked, not removed, so that positions stay those of the page.
  const body = html.replace(/<script[\s\S]*?<\/script>|<head>[\s\S]*?<\/head>/g, (x) => ' '.repeat(x.length));
  const out: Anchor[] = [];
  let form = '';
  for (const m of body.matchAll(/<form\b([^>]*)>|<\/form>|<a\s[^>]*href="[^"]*"[^>]*>([\s\S]*?)<\/a>|<(input|select|button|textarea)\b([^>]*)>(?:([\s\S]*?)<\/\3>)?/g)) {
    if (m[0].startsWith('<form')) {
      form = attr(m[1]!, 'action').replaceAll('&amp;', '&');
      continue;
    }
    if (m[0] === '</form>') {
      form = '';
      continue;
    }
    if (m[0].startsWith('<a')) {
      out.push({ tag: 'a', name: '', type: '', value: '', href: attr(m[0], 'href').replaceAll('&amp;', '&'), label: m[2]!.replace(/<[^>]*>/g, '').trim(), form, line: 0, at: m.index });
      continue;
    }
    const tag = m[3]!;
    const a = m[4]!;
    // Hidden fields are not stops. (A file field is one, though this lynx shows nothing there: it has no file upload.)
    if (tag === 'input' && attr(a, 'type') === 'hidden') continue;
    const anchor = { tag, name: attr(a, 'name'), type: attr(a, 'type'), value: attr(a, 'value'), href: '', label: (m[5] ?? '').replace(/<[^>]*>/g, '').trim(), form, line: 0, at: m.index };
    if (tag === 'textarea') {
      // Lynx drops the blank lines a text area's text starts with.
      const lines = Math.max(Number(attr(a, 'rows') || 4), (m[5] ?? '').replace(/^\n+/, '').split('\n').length);
      for (let i = 0; i < lines; i++) out.push({ ...anchor, line: i });
    } else out.push(anchor);
  }
  return out;
}

/** Keys for one visit, page by page: `page(html)` says what lynx shows now (the cursor starts on its first link). */
export class LynxKeys {
  readonly keys: string[] = [];
  private anchors: Anchor[] = [];
  private cursor = 0;
  /** Pages left, to go back to (lynx keeps what was typed in them). */
  private history: Array<{ anchors: Anchor[]; cursor: number }> = [];

  constructor(html: string) {
    this.page(html);
  }

  /**
   * A new page is shown (after following a link or sending a form). The cursor starts on its first
   * link — or, for an address with a `#fragment`, on the first link after that element, as lynx puts it.
   */
  page(html: string, fragment?: string): this {
    if (this.anchors.length) this.history.push({ anchors: this.anchors, cursor: this.cursor });
    this.anchors = anchorsOf(html);
    this.cursor = 0;
    if (fragment) {
      const target = html.indexOf(`id="${fragment}"`);
      if (target < 0) throw new Error(`no element #${fragment} on the page`);
      this.cursor = Math.max(0, this.anchors.findIndex((a) => a.at > target));
    }
    return this;
  }

  /** Back to the page before (the left arrow), where lynx left its cursor and what was typed. */
  back(): this {
    const previous = this.history.pop();
    if (!previous) throw new Error('no page to go back to');
    this.keys.push('Left Arrow');
    this.anchors = previous.anchors;
    this.cursor = previous.cursor;
    return this;
  }

  /** Moves to the `nth` link or field that matches. */
  to(match: (a: Anchor) => boolean, nth = 0): this {
    const found = this.anchors.map((a, i) => (match(a) ? i : -1)).filter((i) => i >= 0);
    const index = found[nth];
    if (index === undefined) throw new Error(`no such link or field on the page (${found.length} match)`);
    const step = index > this.cursor ? 'Down Arrow' : 'Up Arrow';
    for (let i = 0; i < Math.abs(index - this.cursor); i++) this.keys.push(step);
    this.cursor = index;
    return this;
  }

  /** Types into the field under the cursor. */
  type(text: string): this {
    for (const ch of text) this.keys.push(ch === ' ' ? '0x20' : ch);
    return this;
  }

  /** Enter: follows a link, presses a button, ticks a box, opens a list. */
  enter(): this {
    this.keys.push('^J');
    return this;
  }

  /** In an open option list: moves `by` options down and takes it. */
  choose(by: number): this {
    for (let i = 0; i < by; i++) this.keys.push('Down Arrow');
    this.keys.push('^J');
    return this;
  }

  /** Saves the page as lynx shows it now, with what is typed in its fields, to `file` (its Print menu: save to a local file). */
  save(file: string): this {
    this.keys.push('p', '^J', '^U');
    this.type(file);
    this.keys.push('^J');
    return this;
  }

  /** The script file's text, ending with an unconditional quit. */
  script(): string {
    return [...this.keys, 'Q'].map((k) => `key ${k}`).join('\n') + '\n';
  }
}

/** A lynx with a profile of its own: cookies kept between runs, as one person's browser keeps them. */
export function lynxProfile() {
  if (!existsSync(LYNX)) throw new Error(`${LYNX} is missing: install Debian's lynx (apt-get install -y lynx), as .ci/run does`);
  const dir = mkdtempSync(join(tmpdir(), 'hotline-lynx-'));
  const cfg = join(dir, 'lynx.cfg');
  writeFileSync(cfg, 'INCLUDE:/etc/lynx/lynx.cfg\nPERSISTENT_COOKIES:TRUE\nACCEPT_ALL_COOKIES:TRUE\nSET_COOKIES:TRUE\n');
  const cookies = join(dir, 'cookies');
  const options = { env: { ...process.env, HOME: dir, TERM: 'vt100' }, timeout: 30_000, maxBuffer: 32 * 1024 * 1024 };
  const common = ['-cfg', cfg, `-cookie_file=${cookies}`, `-cookie_save_file=${cookies}`, '-nopause'];
  let n = 0;
  return {
    /** Runs the keys on `url`, interactively; resolves when lynx has quit, with what the screen showed (as text, roughly). */
    async visit(url: string, keys: LynxKeys): Promise<string> {
      const script = join(dir, `script-${++n}`);
      writeFileSync(script, keys.script());
      // Standard input closed: a script whose last key went into a text field ends lynx instead of leaving it waiting.
      const stdout = await new Promise<string>((resolve, reject) => {
        const child = spawn(LYNX, [...common, `-cmd_script=${script}`, url], { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout);
        child.once('error', reject);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(out);
        });
      });
      // eslint-disable-next-line no-control-regex
      return stdout.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, ' ').replace(/\x1b[()][0-9A-Z]/g, '').replace(/ +/g, ' ');
    },
    /** The page as lynx prints it (`-dump`), with the profile's cookies. */
    async dump(url: string): Promise<string> {
      return (await run(LYNX, [...common, '-dump', '-width=200', url], options)).stdout;
    },
    /** The page's HTML as lynx gets it, with the profile's cookies. */
    async source(url: string): Promise<string> {
      return (await run(LYNX, [...common, '-source', url], options)).stdout;
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type LynxProfile = ReturnType<typeof lynxProfile>;
