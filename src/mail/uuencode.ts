// uuencode (`begin 644 name` … `end`), as old mailers send files: in an `x-uuencode` part, or as a
// block inside a plain-text body (Outlook Express, some fax gateways).

export interface UuFile {
  name: string;
  data: Buffer;
}

const BEGIN = /^begin [0-7]{3,4} ([^\r\n]+?)\r?$/m;

/** Decodes the lines of one uuencoded body (a length character, then four characters per three bytes). */
function decodeLines(lines: string[]): Buffer | null {
  const out = Buffer.alloc(lines.length * 63);
  let at = 0;
  for (const line of lines) {
    if (line === '') continue;
    const length = (line.charCodeAt(0) - 32) & 63;
    if (length === 0) break;
    // Characters from space to backtick only, and enough of them for the length the line gives.
    if (!/^[\x20-\x60]+$/.test(line) || line.length < 1 + Math.ceil((length * 4) / 3)) return null;
    const six = (i: number): number => ((line.charCodeAt(i) || 32) - 32) & 63;
    for (let i = 1, left = length; left > 0; i += 4, left -= 3) {
      const [a, b, c, d] = [six(i), six(i + 1), six(i + 2), six(i + 3)];
      out[at++] = ((a << 2) | (b >> 4)) & 255;
      if (left > 1) out[at++] = ((b << 4) | (c >> 2)) & 255;
      if (left > 2) out[at++] = ((c << 6) | d) & 255;
    }
  }
  return out.subarray(0, at);
}

/** The file in a uuencoded body, or null when it is not one. */
export function uudecode(text: string): UuFile | null {
  const begin = BEGIN.exec(text);
  if (!begin) return null;
  const rest = text.slice(begin.index + begin[0].length).split(/\r?\n/).slice(1);
  const end = rest.findIndex((l) => /^end\s*$/.test(l));
  if (end < 0) return null;
  const data = decodeLines(rest.slice(0, end));
  return data ? { name: begin[1]!.trim(), data } : null;
}

/**
 * Takes the uuencoded blocks out of a plain-text body: the text without them, and their files. A block
 * that does not decode stays in the text.
 */
export function uuBlocks(text: string): { text: string; files: UuFile[] } {
  const files: UuFile[] = [];
  const rest = text.replace(/^begin [0-7]{3,4} [^\r\n]+\r?\n[\s\S]*?^end[ \t]*$(\r?\n)?/gm, (block) => {
    const file = uudecode(block);
    if (!file) return block;
    files.push(file);
    return '';
  });
  return { text: files.length ? rest : text, files };
}
