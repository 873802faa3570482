// Mends, before mailparser reads a message, what it would read wrong: 8-bit text whose charset the
// sender did not declare (mailparser takes it for UTF-8 and loses every other byte to U+FFFD, or
// shows a file name as Latin-1 mojibake), `x-uuencode` parts (kept encoded), and a second HTML part
// beside the body (merged into it). Only the copy that is parsed is mended: the raw message is stored
// as it came. Adjacent encoded words of one charset are joined into one, so that a character split
// across a B and a Q word (libmime joins only words of one encoding) is read whole. A message with none
// of these (valid UTF-8, no uuencode, one HTML part, no such words) is not touched.
import { isUtf8 } from 'node:buffer';
import { Joiner, Splitter } from '@zone-eu/mailsplit';
import type { HeaderLine, MimeNode, SplitterChunk } from '@zone-eu/mailsplit';
import type { Headers } from '@zone-eu/mailsplit';
import iconv from 'iconv-lite';
import jschardet from 'jschardet';
import libmime from 'libmime';
import { uudecode } from './uuencode.js';

// The charsets the detector may answer with: those mail is written in, without the Mac and DOS code
// pages that it would otherwise pick for short Western text (`Grüße aus Köln` read as MacIceland).
const DETECTABLE = [
  'UTF-8', 'GB18030', 'Big5', 'SHIFT_JIS', 'CP932', 'EUC-JP', 'EUC-KR', 'CP949', 'ISO-2022-JP',
  'windows-1250', 'windows-1251', 'windows-1252', 'windows-1253', 'windows-1254', 'windows-1255', 'windows-1256', 'windows-1257',
  'ISO-8859-2', 'ISO-8859-5', 'ISO-8859-7', 'ISO-8859-9', 'KOI8-R', 'IBM866', 'TIS-620',
];

/**
 * The charset these bytes (not valid UTF-8) were most likely written in. jschardet, not chardet: on
 * short text (a subject, a file name: `打印机坏了`, `プリンター`, `Zażółć`) it named the right charset where
 * chardet named Shift_JIS for GBK and windows-1257 for Latin-2. Western text it cannot tell is read
 * as windows-1252, the charset undeclared mail from Western senders is written in.
 */
export function detectCharset(bytes: Uint8Array): string {
  const found = jschardet.detect(Buffer.from(bytes), { detectEncodings: DETECTABLE }).encoding;
  const charset = found && iconv.encodingExists(found) ? found.toLowerCase() : 'windows-1252';
  // Western text with byte A4 and none of windows-1252's own (80–9F) is ISO-8859-15: A4 is € there
  // and ¤ in Latin-1 and windows-1252, a sign almost nobody writes (`250 ¤`).
  if ((charset === 'windows-1252' || charset === 'iso-8859-1') && bytes.includes(0xa4) && !bytes.some((b) => b >= 0x80 && b <= 0x9f)) return 'iso-8859-15';
  return charset;
}

/** Whether these bytes (not valid UTF-8 as a whole) hold any well-formed multi-byte UTF-8 sequence. */
const holdsUtf8 = (bytes: Buffer): boolean => /[^\u0000-\u007f\ufffd]/u.test(bytes.toString('utf8'));
const has8bit = (bytes: Uint8Array): boolean => bytes.some((b) => b > 0x7f);
const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('binary');

// Text encoded as quoted-printable with 8-bit bytes, or as base64 (its header block names both).
const ENCODED_8BIT = /=[89a-f][0-9a-f]/i;
const BASE64_TEXT = /content-type:\s*text\/(?:(?!\r?\n\r?\n)[\s\S]){0,1000}?transfer-encoding:\s*base64|transfer-encoding:\s*base64(?:(?!\r?\n\r?\n)[\s\S]){0,1000}?content-type:\s*text\//i;

// RFC 2047 encoded words, and a run of them separated only by white space (folding included).
const WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bq])\?([^?\s]*)\?=/gi;
const WORD_RUN = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=(?:\s+=\?[^?\s]+\?[bq]\?[^?\s]*\?=)+/gi;
const MIXED_RUN = /=\?([^?\s*]+)\?b\?[^?\s]*\?=\s+=\?\1\?q\?|=\?([^?\s*]+)\?q\?[^?\s]*\?=\s+=\?\2\?b\?/i;

/** Whether parsing `raw` as it is might lose or misplace something this pass mends. */
function needsMending(raw: Buffer): boolean {
  if (!isUtf8(raw)) return true;
  const text = raw.toString('latin1');
  return (
    ENCODED_8BIT.test(text) ||
    BASE64_TEXT.test(text) ||
    /x-uue|uuencode/i.test(text) ||
    (text.match(/content-type:\s*text\/html/gi)?.length ?? 0) > 1 ||
    /content-disposition:\s*inline\s*;\s*(?:file)?name/i.test(text) ||
    MIXED_RUN.test(text) ||
    (text.includes('=?') && hasMislabelledWord(text.slice(0, 256 * 1024)))
  );
}

const wordBytes = (encoding: string, text: string): Buffer =>
  encoding.toLowerCase() === 'b'
    ? Buffer.from(text, 'base64')
    : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');

/**
 * A charset mailparser can read: by the name libmime (its decoder) makes of it (`x-mac-cyrillic` is
 * `maccyrillic`), one iconv-lite knows or a Japanese one libmime reads itself.
 */
function readable(charset: string): boolean {
  const name = libmime.normalizeCharset(charset);
  return iconv.encodingExists(name) || /^jis|^iso-?2022-?jp|^eucjp/i.test(name);
}
const ASCII = /^(us-?ascii|ascii|ansi_x3\.4-1968|7bit)$/i;

/**
 * Whether an encoded word's label does not fit its bytes: 8-bit bytes labelled ASCII or with a
 * label nobody knows (`unknown-8bit`, `x-unknown`), or labelled UTF-8 and not UTF-8.
 */
const mislabelled = (charset: string, bytes: Buffer): boolean =>
  has8bit(bytes) && (ASCII.test(charset) || !readable(charset) || (/^utf-?8$/i.test(charset) && !isUtf8(bytes) && !holdsUtf8(bytes)));

/**
 * A header line with its encoded words mended: a word whose label does not fit its bytes is read
 * as UTF-8 when its bytes are, else in `guess(bytes)`; and each run of adjacent words of one charset
 * is made one B word of their bytes together (RFC 2047 says the space between them is not text, and
 * senders split characters across them). Lines with nothing to mend come back as they were.
 */
export function mendEncodedWords(line: string, guess: (bytes: Buffer) => string = detectCharset): string {
  const relabel = (charset: string, bytes: Buffer): string => (mislabelled(charset, bytes) ? (isUtf8(bytes) ? 'utf-8' : guess(bytes)) : charset.toLowerCase());
  // Single words whose label does not fit.
  const fixed = line.replace(WORD, (word, charset: string, encoding: string, text: string) => {
    const bytes = wordBytes(encoding, text);
    const label = relabel(charset, bytes);
    return label === charset.toLowerCase() ? word : `=?${label}?B?${bytes.toString('base64')}?=`;
  });
  return fixed.replace(WORD_RUN, (run) => {
    const words = [...run.matchAll(WORD)].map(([, charset = '', encoding = '', text = '']) => ({ charset: charset.toLowerCase(), bytes: wordBytes(encoding, text) }));
    const joined: Array<{ charset: string; bytes: Buffer[] }> = [];
    for (const w of words) {
      const last = joined.at(-1);
      if (last && last.charset === w.charset) last.bytes.push(w.bytes);
      else joined.push({ charset: w.charset, bytes: [w.bytes] });
    }
    return joined.map((j) => `=?${j.charset}?B?${Buffer.concat(j.bytes).toString('base64')}?=`).join(' ');
  });
}

/** The bytes of the encoded words in this text whose labels do not fit them. */
const mislabelledWords = (text: string): Buffer[] =>
  [...text.matchAll(WORD)].map(([, charset = '', encoding = '', body = '']) => ({ charset, bytes: wordBytes(encoding, body) })).filter((w) => mislabelled(w.charset, w.bytes)).map((w) => w.bytes);
const hasMislabelledWord = (text: string): boolean => mislabelledWords(text).length > 0;

/** A part's charset that says nothing about 8-bit bytes: none, ASCII, UTF-8, or a label nobody knows (`unknown-8bit`). */
const isUnicodeOrAscii = (charset: string | false): boolean => !charset || /^(us-?ascii|ascii|utf-?8|ansi_x3\.4-1968)$/i.test(charset) || !readable(charset);
const isUuencoded = (node: MimeNode): boolean => /^(x-)?uu(e|encode)?$|^x-uuencode$/i.test(String(node.encoding || '').trim());

/** The nearest enclosing multipart/alternative of a node, or null. */
function alternativeOf(node: MimeNode): MimeNode | null {
  for (let parent = node.parentNode; parent; parent = parent.parentNode) if (parent.multipart === 'alternative') return parent;
  return null;
}

function within(node: MimeNode, ancestor: MimeNode): boolean {
  for (let parent = node.parentNode; parent; parent = parent.parentNode) if (parent === ancestor) return true;
  return false;
}

/** Decodes a part's body by its transfer encoding (base64, quoted-printable or none). */
async function decoded(node: MimeNode, body: Buffer): Promise<Buffer> {
  if (!/^(base64|quoted-printable)$/i.test(String(node.encoding || ''))) return body;
  const decoder = node.getDecoder();
  const chunks: Buffer[] = [];
  decoder.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => decoder.once('end', resolve).once('error', reject));
  decoder.end(body);
  await done;
  return Buffer.concat(chunks);
}

/**
 * The charset an HTML document names in a `<meta>` among its first 1,024 bytes (as browsers look for
 * it), when it is one iconv-lite knows and not the UTF-8 these bytes are not.
 */
function metaCharset(html: Buffer): string | null {
  const head = html.subarray(0, 1024).toString('latin1');
  const named = /<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.+-]+)/i.exec(head)?.[1];
  return named && iconv.encodingExists(named) && !/^utf-?8$/i.test(named) ? named.toLowerCase() : null;
}

/** Sets (or adds) the charset parameter on a Content-Type header line. */
function withCharset(line: string, charset: string): string {
  return /;\s*charset\s*=/i.test(line) ? line.replace(/(;\s*charset\s*=\s*)("[^"]*"|[^;\s]*)/i, `$1${charset}`) : `${line.replace(/[\s;]+$/, '')}; charset=${charset}`;
}

interface Part {
  node: MimeNode;
  body: Buffer[];
}

/** Returns `raw` with undeclared charsets declared, uuencoded parts decoded and extra HTML parts attached. */
export async function mendMail(raw: Buffer): Promise<Buffer> {
  if (!needsMending(raw)) return raw;
  try {
    return await mend(raw);
  } catch {
    // What cannot be split is parsed as it came: mailparser reads what it can.
    return raw;
  }
}

async function mend(raw: Buffer): Promise<Buffer> {
  // Attached messages stay whole (mailparser keeps them as .eml files): they are not mended inside.
  const splitter = new Splitter({ ignoreEmbedded: true });
  const items: Array<{ type: 'node'; part: Part } | { type: 'data'; value: Buffer }> = [];
  const split = new Promise<void>((resolve, reject) => {
    splitter.on('data', (data: SplitterChunk) => {
      if (data.type === 'node') items.push({ type: 'node', part: { node: data as MimeNode, body: [] } });
      else if (data.type === 'body') (items.at(-1) as { part: Part }).part.body.push(data.value);
      else items.push({ type: 'data', value: data.value });
    });
    (splitter as unknown as NodeJS.ReadableStream).once('end', resolve).once('error', reject);
  });
  splitter.end(raw);
  await split;
  const parts = items.flatMap((i) => (i.type === 'node' ? [i.part] : []));
  const headersOf = (node: MimeNode): Headers => node.headers as Headers;

  // Header bytes in no declared charset are most likely in the one the sender's parts declare
  // (a raw GB2312 subject beside a GB2312 body), else in the one they read as.
  const headerBytes = parts.flatMap((p) => headersOf(p.node).getList().map((l) => Buffer.from(l.line, 'binary')).filter((b) => has8bit(b) && !isUtf8(b)));
  const declared = parts.map((p) => p.node.charset).find((c): c is string => !!c && !isUnicodeOrAscii(c) && iconv.encodingExists(c));
  const headerCharset = headerBytes.length === 0 ? null : (declared ?? detectCharset(Buffer.concat(headerBytes)));
  // Encoded words whose labels do not fit: read in the charset the parts declare, else in the one
  // all of them (and any raw header bytes) read as together; a name alone is too short to tell.
  const wordBytes8 = parts.flatMap((p) => headersOf(p.node).getList().flatMap((l) => mislabelledWords(l.line)));
  const wordCharset = declared ?? headerCharset ?? (wordBytes8.length ? detectCharset(Buffer.concat([...headerBytes, ...wordBytes8].flatMap((b) => [b, Buffer.from(' ')]))) : null);

  let htmlBody: MimeNode | null = null;
  let bodyAlternative: MimeNode | null = null;
  let textSeen = false;
  for (const { node, body } of parts) {
    const lines = headersOf(node).getList();
    let changed = false;
    for (const line of lines) {
      const joined = mendEncodedWords(line.line, (bytes) => wordCharset ?? detectCharset(bytes));
      if (joined !== line.line) {
        line.line = joined;
        changed = true;
      }
    }
    if (headerCharset)
      for (const line of lines) {
        const bytes = Buffer.from(line.line, 'binary');
        if (!has8bit(bytes) || isUtf8(bytes)) continue;
        line.line = binary(Buffer.from(iconv.decode(bytes, headerCharset)));
        changed = true;
      }
    if (node.multipart) {
      if (changed) headersOf(node).changed = true;
      continue;
    }
    const type = String(node.contentType || (node.root ? 'text/plain' : '')).toLowerCase();
    const content = Buffer.concat(body);

    if (isUuencoded(node)) {
      const file = uudecode(content.toString('latin1'));
      if (file) {
        body.splice(0, body.length, Buffer.from(file.data.toString('base64').replace(/.{76}/g, '$&\r\n') + '\r\n'));
        setHeader(lines, 'content-transfer-encoding', 'Content-Transfer-Encoding: base64');
        if (!node.filename && file.name) setHeader(lines, 'content-disposition', `Content-Disposition: attachment; filename="${file.name.replace(/["\\\r\n]/g, '_')}"`);
        changed = true;
      }
    } else if (type.startsWith('text/') && isUnicodeOrAscii(node.charset)) {
      const text = await decoded(node, content);
      // Declared UTF-8 that holds real UTF-8 sequences beside a stray byte stays UTF-8.
      if (has8bit(text) && !isUtf8(text) && !(/utf-?8/i.test(String(node.charset)) && holdsUtf8(text))) {
        const charset = (type === 'text/html' && metaCharset(text)) || detectCharset(text);
        const at = lines.findIndex((l) => l.key === 'content-type');
        if (at >= 0) lines[at]!.line = withCharset(lines[at]!.line, charset);
        else lines.push({ key: 'content-type', line: `Content-Type: ${type}; charset=${charset}` });
        changed = true;
      }
    }

    // The body: the first inline text part, with the parts of its multipart/alternative. An HTML part
    // after an HTML body (and not one of its alternatives), or a later text part the sender named as a
    // file (`inline; filename=notes.txt`), is an attachment, not more body.
    const inline = node.disposition !== 'attachment';
    if (inline && (type === 'text/plain' || type === 'text/html')) {
      const ofBody = () => !!bodyAlternative && within(node, bodyAlternative);
      let attach = false;
      if (!textSeen) {
        textSeen = true;
        bodyAlternative = alternativeOf(node);
      } else if (node.filename && !ofBody()) attach = true;
      if (type === 'text/html') {
        if (!htmlBody) {
          htmlBody = node;
          bodyAlternative ??= alternativeOf(node);
        } else if (!ofBody()) attach = true;
      }
      if (attach) {
        const at = lines.findIndex((l) => l.key === 'content-disposition');
        const params = at >= 0 ? lines[at]!.line.replace(/^[^:]*:\s*[^;]*/, '') : '';
        setHeader(lines, 'content-disposition', `Content-Disposition: attachment${params}`);
        changed = true;
      }
    }
    if (changed) headersOf(node).changed = true;
  }

  const joiner = new Joiner();
  const out: Buffer[] = [];
  joiner.on('data', (c: Buffer) => out.push(c));
  const joined = new Promise<void>((resolve, reject) => (joiner as unknown as NodeJS.ReadableStream).once('end', resolve).once('error', reject));
  for (const item of items) {
    if (item.type === 'data') joiner.write({ type: 'data', value: item.value });
    else {
      joiner.write(item.part.node);
      for (const value of item.part.body) joiner.write({ type: 'body', value });
    }
  }
  joiner.end();
  await joined;
  return Buffer.concat(out);
}

/** Replaces a header's lines by one (or adds it at the end of the block). */
function setHeader(lines: HeaderLine[], key: string, line: string): void {
  const at = lines.findIndex((l) => l.key === key);
  for (let i = lines.length - 1; i > at && at >= 0; i--) if (lines[i]!.key === key) lines.splice(i, 1);
  if (at >= 0) lines[at]!.line = line;
  else lines.push({ key, line });
}
