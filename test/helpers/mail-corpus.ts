// Corpora of mail with what a careful reader expects of each message, and what Hotline stored of it,
// compared field by field: sender, name, subject, body, charset (nothing garbled), attachment names,
// types and sizes. Two corpora: one generated here (every charset mail is written in, declared,
// undeclared, labelled us-ascii; aliases and labels that do not fit; RFC 2047 and 2231 names; the odd
// parts), whose truth is what was
// written, and the shared sample corpus (Znuny's test mails) beside the project, whose expectations
// are in test/mail-corpus/znuny-expected.json, reviewed message by message.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import iconv from 'iconv-lite';
import addressparser from 'nodemailer/lib/addressparser/index.js';

export interface Expected {
  /** The sender's address (lower case); null when the message has none Hotline can answer. */
  sender: string | null;
  /** True for a message that is kept flagged and makes no article (a bounce for mail never sent). */
  noArticle?: boolean;
  name: string;
  subject: string;
  /** The text shown, white space collapsed. */
  body: string;
  attachments: Array<{ name: string; type: string; size: number }>;
}

export const FIELDS = ['sender', 'name', 'subject', 'body', 'charset', 'attachment names', 'attachment types', 'attachment sizes'] as const;
export type Field = (typeof FIELDS)[number];

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();
// Signs of text read in the wrong charset: U+FFFD, UTF-8 read as Latin-1 (Ã¤, â€™), C1 controls, NUL.
const GARBLED = /\ufffd|[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac|[\u0000-\u0008\u000e-\u001f\u0080-\u009f]/;

/** What Hotline stored of the message stored as raw message `rawId`: its article, or null when it made none. */
export function storedAs(db: Database, rawId: number): (Expected & { clean: boolean }) | null {
  const article = db.prepare('SELECT id, from_addr, subject, body_text FROM articles WHERE raw_message_id = ? ORDER BY id LIMIT 1').get(rawId) as
    | { id: number; from_addr: string | null; subject: string | null; body_text: string }
    | undefined;
  if (!article) return null;
  const [from] = addressparser(article.from_addr ?? '', { flatten: true });
  const files = db.prepare('SELECT filename AS name, content_type AS type, size FROM attachments WHERE article_id = ? ORDER BY id').all(article.id) as Expected['attachments'];
  const seen = { sender: from?.address.toLowerCase() ?? null, name: from?.name ?? '', subject: article.subject ?? '', body: collapse(article.body_text), attachments: files };
  const shown = [seen.name, seen.subject, seen.body, ...files.map((f) => f.name)];
  return { ...seen, clean: !shown.some((s) => GARBLED.test(s)) };
}

const sameFiles = (a: Expected['attachments'], b: Expected['attachments'], key: 'name' | 'type' | 'size') =>
  JSON.stringify(a.map((f) => f[key]).sort()) === JSON.stringify(b.map((f) => f[key]).sort());

/** Which fields of what was stored match what was expected (charset: nothing shown is garbled). */
export function matches(expected: Expected, seen: (Expected & { clean: boolean }) | null): Record<Field, boolean> {
  if (!seen || expected.noArticle) return Object.fromEntries(FIELDS.map((f) => [f, !seen && !!expected.noArticle])) as Record<Field, boolean>;
  return {
    sender: seen.sender === expected.sender,
    name: seen.name === expected.name,
    subject: seen.subject === expected.subject,
    body: seen.body === collapse(expected.body),
    charset: seen.clean,
    'attachment names': sameFiles(seen.attachments, expected.attachments, 'name'),
    'attachment types': sameFiles(seen.attachments, expected.attachments, 'type'),
    'attachment sizes': sameFiles(seen.attachments, expected.attachments, 'size'),
  };
}

export interface CorpusMessage {
  id: string;
  /** What kind of case: the charset variant, or the structure under test. */
  group: string;
  raw: Buffer;
  expected: Expected;
}

/** Text as people write it in each charset mail is sent in: a name, a subject, a body and a file name. */
const SAMPLES: Array<{ charset: string; name: string; subject: string; body: string; file: string }> = [
  { charset: 'utf-8', name: 'Zoë Çelik', subject: 'Drucker im Büro fällt aus – schon wieder', body: 'Grüße aus Köln: der Drucker druckt nur leere Seiten. 打印机 – Zoë', file: 'Übersicht März.pdf' },
  { charset: 'iso-8859-1', name: 'Jürgen Müller', subject: 'Rechnung für März doppelt abgebucht', body: 'Sehr geehrte Damen und Herren, die Rechnung für März wurde zweimal abgebucht. Mit freundlichen Grüßen, Jürgen Müller', file: 'Rechnung März.pdf' },
  { charset: 'iso-8859-15', name: 'François Lefèvre', subject: 'Facture de 250 € réglée deux fois', body: 'Bonjour, la facture de 250 € a été débitée deux fois. Merci de vérifier. Cordialement, François Lefèvre', file: 'reçu été.pdf' },
  { charset: 'windows-1252', name: 'José Peña', subject: 'Señal débil en la oficina “Norte”', body: 'Buenos días, la señal en la oficina “Norte” es muy débil desde el lunes. ¿Pueden revisarla? Saludos, José Peña', file: 'señal.pdf' },
  { charset: 'iso-8859-2', name: 'Zofia Wąsowska', subject: 'Drukarka nie działa, proszę o pomoc', body: 'Dzień dobry, drukarka w biurze nie drukuje od wczoraj. Proszę o pilną naprawę. Pozdrawiam, Zofia Wąsowska', file: 'zgłoszenie.pdf' },
  { charset: 'windows-1250', name: 'Jiří Dvořák', subject: 'Tiskárna nefunguje, prosím o opravu', body: 'Dobrý den, tiskárna v kanceláři netiskne už druhý den. Prosím o rychlou opravu. S pozdravem, Jiří Dvořák', file: 'přehled.pdf' },
  { charset: 'koi8-r', name: 'Иван Петров', subject: 'Принтер не печатает', body: 'Здравствуйте, принтер в офисе не печатает уже второй день. Помогите, пожалуйста. Иван Петров', file: 'отчёт.pdf' },
  { charset: 'windows-1251', name: 'Олена Коваленко', subject: 'Сервер не відповідає з ранку', body: 'Добрий день, сервер не відповідає з самого ранку. Прошу перевірити якнайшвидше. Олена Коваленко', file: 'журнал.txt' },
  { charset: 'iso-8859-5', name: 'Сергей Смирнов', subject: 'Не работает почта в отделе', body: 'Добрый день, в нашем отделе не работает почта с утра. Сергей Смирнов', file: 'ошибка.txt' },
  { charset: 'iso-8859-7', name: 'Γιώργος Παπαδόπουλος', subject: 'Ο εκτυπωτής δεν λειτουργεί', body: 'Καλημέρα, ο εκτυπωτής στο γραφείο δεν εκτυπώνει από χθες. Ευχαριστώ, Γιώργος Παπαδόπουλος', file: 'αναφορά.pdf' },
  { charset: 'iso-8859-9', name: 'Şükrü Öztürk', subject: 'Yazıcı çalışmıyor, lütfen yardım edin', body: 'Merhaba, ofisteki yazıcı dünden beri çalışmıyor. Teşekkürler, Şükrü Öztürk', file: 'şikayet.pdf' },
  { charset: 'gbk', name: '张伟', subject: '打印机坏了，请尽快修理', body: '您好，办公室的打印机从昨天开始无法打印，请尽快派人修理。谢谢！张伟', file: '故障报告.pdf' },
  { charset: 'gb18030', name: '李娜', subject: '服务器无法启动', body: '您好，服务器昨天晚上停止了工作，重新启动也没有用。请帮忙检查。李娜', file: '日志.txt' },
  { charset: 'big5', name: '陳美玲', subject: '印表機無法列印', body: '您好，辦公室的印表機從昨天開始無法列印，請盡快派人維修。謝謝！陳美玲', file: '報告.pdf' },
  { charset: 'shift_jis', name: '田中太郎', subject: 'プリンターが壊れました', body: 'お世話になっております。事務所のプリンターが昨日から印刷できません。至急修理をお願いします。田中太郎', file: '報告書.pdf' },
  { charset: 'euc-jp', name: '佐藤花子', subject: 'サーバーに接続できません', body: 'お世話になっております。今朝からサーバーに接続できません。確認をお願いいたします。佐藤花子', file: 'ログ.txt' },
  { charset: 'euc-kr', name: '김민수', subject: '프린터가 고장났어요', body: '안녕하세요, 사무실 프린터가 어제부터 인쇄가 되지 않습니다. 빠른 수리 부탁드립니다. 김민수', file: '보고서.pdf' },
];

/** Bytes of header lines and bodies: strings as Latin-1 (ASCII here), buffers as they are. */
const bytes = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const b64 = (data: Buffer): string => data.toString('base64').replace(/.{76}/g, '$&\r\n');
const word = (text: string, charset: string): string => `=?${charset}?B?${iconv.encode(text, charset).toString('base64')}?=`;
const pct = (text: string, charset: string): string => [...iconv.encode(text, charset)].map((b) => (/[A-Za-z0-9.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
const pdf = (n: number): Buffer => Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(n, 0x20)]);

/** The variants of declaring (or not) a sample's charset; what each writes is the sample's text. */
const VARIANTS = ['declared', '2047-in-quotes', 'raw-headers', 'raw-utf-8', 'html-meta', 'undeclared', 'us-ascii-label'] as const;

function charsetMessage(sample: (typeof SAMPLES)[number], variant: (typeof VARIANTS)[number], n: number): CorpusMessage {
  const cs = variant === 'raw-utf-8' ? 'utf-8' : sample.charset;
  const enc = (text: string) => {
    const encoded = iconv.encode(text, cs);
    if (iconv.decode(encoded, cs) !== text) throw new Error(`${cs} cannot write ${text}`);
    return encoded;
  };
  const address = `customer${n}@customer.example`;
  const file = pdf(200 + n);
  const head = (from: Array<string | Buffer>, subject: Array<string | Buffer>) =>
    bytes('From: ', ...from, ` <${address}>\r\nTo: support@hotline.example\r\nSubject: `, ...subject, `\r\nMessage-ID: <corpus-${n}@customer.example>\r\nMIME-Version: 1.0\r\n`);
  const multipart = (textPart: Buffer, fileName: Array<string | Buffer>) =>
    bytes('Content-Type: multipart/mixed; boundary="=_part"\r\n\r\n--=_part\r\n', textPart, '\r\n--=_part\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; ', ...fileName, '\r\nContent-Transfer-Encoding: base64\r\n\r\n', b64(file), '\r\n--=_part--\r\n');
  const textPart = (label: string, body: Buffer, encoding = '8bit') => bytes(`Content-Type: text/plain${label}\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`, encoding === 'base64' ? b64(body) : body);
  let raw: Buffer;
  let attachments: Expected['attachments'] = [{ name: sample.file, type: 'application/pdf', size: file.length }];
  switch (variant) {
    case 'declared':
      raw = bytes(head([word(sample.name, cs)], [word(sample.subject, cs)]), multipart(textPart(`; charset=${cs}`, enc(sample.body), 'base64'), [`filename*=${cs}''${pct(sample.file, cs)}`]));
      break;
    case '2047-in-quotes':
      raw = bytes(head([`"${word(sample.name, cs)}"`], [word(sample.subject, cs)]), multipart(textPart(`; charset=${cs}`, enc(sample.body), 'base64'), [`filename="${word(sample.file, cs)}"`]));
      break;
    case 'raw-headers':
    case 'raw-utf-8':
      raw = bytes(head([enc(sample.name)], [enc(sample.subject)]), multipart(textPart(variant === 'raw-utf-8' ? '' : `; charset=${cs}`, enc(sample.body)), ['filename="', enc(sample.file), '"']));
      break;
    case 'html-meta': {
      const html = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=${cs}"></head><body><p>${sample.body}</p></body></html>`;
      raw = bytes(head([word(sample.name, cs)], [word(sample.subject, cs)]), 'Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n', enc(html), '\r\n');
      attachments = [];
      break;
    }
    case 'undeclared':
      raw = bytes(head([enc(sample.name)], [enc(sample.subject)]), multipart(textPart('', enc(sample.body)), ['filename="', enc(sample.file), '"']));
      break;
    case 'us-ascii-label':
      raw = bytes(head([enc(sample.name)], [enc(sample.subject)]), multipart(textPart('; charset=us-ascii', enc(sample.body)), ['filename="', enc(sample.file), '"']));
      break;
  }
  return { id: `${sample.charset} ${variant}`, group: variant, raw, expected: { sender: address, name: sample.name, subject: sample.subject, body: sample.body, attachments } };
}

const uu = (name: string, data: Buffer): string => {
  const lines = [`begin 644 ${name}`];
  const char = (v: number) => (v === 0 ? '`' : String.fromCharCode(v + 32));
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = char(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a = 0, b = 0, c = 0] = [chunk[j], chunk[j + 1], chunk[j + 2]];
      line += char(a >> 2) + char(((a & 3) << 4) | (b >> 4)) + char(((b & 15) << 2) | (c >> 6)) + char(c & 63);
    }
    lines.push(line);
  }
  return [...lines, '`', 'end'].join('\r\n');
};

/** Parts mailers send besides text: what each should become. */
function structureMessages(start: number): CorpusMessage[] {
  const jpeg = Buffer.concat([Buffer.from('ffd8ffe000104a46494600', 'hex'), Buffer.alloc(300, 7)]);
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(120, 1)]);
  const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(500, 3)]);
  const notes = 'Step 1: reboot.\r\nStep 2: call.';
  const table = '<html><body><table><tr><td>Q3</td></tr></table></body></html>';
  const inner = Buffer.from('From: boss@customer.example\r\nSubject: Drucker fällt aus\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBitte reparieren.\r\n');
  const cases: Array<{ id: string; body: string; parts: Buffer; text: string; attachments: Expected['attachments']; subject?: string; subjectLine?: string }> = [
    {
      id: 'x-uuencode part',
      body: 'Content-Type: multipart/mixed; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log is attached.\r\n--b\r\nContent-Type: application/octet-stream; name="log.zip"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n', uu('log.zip', zip), '\r\n--b--\r\n'),
      text: 'The log is attached.',
      // Sent as application/octet-stream; by its name a zip file.
      attachments: [{ name: 'log.zip', type: 'application/zip', size: zip.length }],
    },
    {
      id: 'uuencoded block in a plain body',
      body: 'Content-Type: text/plain; charset=us-ascii',
      parts: bytes('Here is the photo.\r\n\r\n', uu('photo.jpg', jpeg), '\r\n\r\nRegards\r\n'),
      text: 'Here is the photo. Regards',
      attachments: [{ name: 'photo.jpg', type: 'image/jpeg', size: jpeg.length }],
    },
    {
      id: 'unnamed image/jpg and image/pjpeg parts',
      body: 'Content-Type: multipart/mixed; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/plain\r\n\r\nTwo photos.\r\n--b\r\nContent-Type: image/jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n', b64(jpeg), '\r\n--b\r\nContent-Type: image/pjpeg\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n', b64(jpeg), '\r\n--b--\r\n'),
      text: 'Two photos.',
      attachments: [{ name: 'image-1.jpg', type: 'image/jpg', size: jpeg.length }, { name: 'image-2.jpg', type: 'image/pjpeg', size: jpeg.length }],
    },
    {
      id: 'attached message without a name',
      body: 'Content-Type: multipart/mixed; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/plain\r\n\r\nForwarding this.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n', inner, '\r\n--b--\r\n'),
      text: 'Forwarding this.',
      attachments: [{ name: 'Drucker fällt aus.eml', type: 'message/rfc822', size: inner.length }],
    },
    {
      id: 'a second HTML part',
      body: 'Content-Type: multipart/mixed; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See the report.</p>\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n', table, '\r\n--b--\r\n'),
      text: 'See the report.',
      attachments: [{ name: 'text-1.html', type: 'text/html', size: table.length }],
    },
    {
      id: 'an inline PNG by Content-ID',
      body: 'Content-Type: multipart/related; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Screenshot: <img src="cid:shot@x"></p>\r\n--b\r\nContent-Type: image/png; name="shot.png"\r\nContent-ID: <shot@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n', b64(png), '\r\n--b--\r\n'),
      text: 'Screenshot:',
      attachments: [{ name: 'shot.png', type: 'image/png', size: png.length }],
    },
    {
      id: 'a text file sent inline after the body',
      body: 'Content-Type: multipart/mixed; boundary="b"',
      parts: bytes('--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy notes are attached.\r\n--b\r\nContent-Type: text/plain; charset=utf-8; name="notes.txt"\r\nContent-Disposition: inline; filename="notes.txt"\r\n\r\n', notes, '\r\n--b--\r\n'),
      text: 'My notes are attached.',
      attachments: [{ name: 'notes.txt', type: 'text/plain', size: notes.length }],
    },
    {
      id: 'NUL and controls in the subject',
      body: 'Content-Type: text/plain; charset=utf-8',
      parts: bytes('Printer\x00 down.\r\n'),
      subjectLine: 'Printer\x00 down\x07 again',
      subject: 'Printer down again',
      text: 'Printer down.',
      attachments: [],
    },
  ];
  return cases.map((c, i) => {
    const n = start + i;
    const raw = bytes(`From: Carl Kunde <carl${n}@customer.example>\r\nTo: support@hotline.example\r\nSubject: ${c.subjectLine ?? c.id}\r\nMessage-ID: <corpus-${n}@customer.example>\r\nMIME-Version: 1.0\r\n${c.body}\r\n\r\n`, c.parts);
    return { id: c.id, group: 'parts', raw, expected: { sender: `carl${n}@customer.example`, name: 'Carl Kunde', subject: c.subject ?? c.id, body: c.text, attachments: c.attachments } };
  });
}

/**
 * Charset labels as mailers write them, with the charset the bytes are really in: aliases, labels
 * nobody knows (`unknown-8bit`), and labels that do not fit (UTF-8 labelled us-ascii, Latin-1 labelled UTF-8).
 */
const LABELS: Array<[label: string, real: string, name: string, text: string]> = [
  ['unknown-8bit', 'windows-1252', 'Jürgen Müller', 'Grüße aus Köln, der Drucker druckt nicht'],
  ['x-unknown', 'windows-1251', 'Иван Петров', 'Принтер не печатает совсем'],
  ['us-ascii', 'utf-8', 'Zoë Çelik', 'Grüße, 打印机坏了'],
  ['utf-8', 'iso-8859-1', 'José Peña', 'Señal débil en la oficina'],
  ['ks_c_5601-1987', 'euc-kr', '김민수', '프린터가 고장났어요'],
  ['x-mac-cyrillic', 'maccyrillic', 'Сергей Смирнов', 'Не работает почта в отделе'],
  ['iso-8859-8-i', 'iso-8859-8', 'דוד כהן', 'המדפסת לא עובדת'],
  ['windows-874', 'windows-874', 'สมชาย ใจดี', 'เครื่องพิมพ์เสีย'],
  ['cp1252', 'windows-1252', 'François Lefèvre', 'Facture réglée “deux fois”'],
  ['latin1', 'iso-8859-1', 'Jürgen Müller', 'Rechnung für März doppelt'],
  ['gb2312', 'gbk', '陳美玲', '打印机坏了，請修理'],
];

function labelMessages(start: number): CorpusMessage[] {
  return LABELS.map(([label, real, name, text], i) => {
    const n = start + i;
    const enc = (t: string) => iconv.encode(t, real);
    const w = (t: string) => `=?${label}?B?${enc(t).toString('base64')}?=`;
    const file = pdf(100 + i);
    const raw = bytes(
      `From: ${w(name)} <label${n}@customer.example>\r\nTo: support@hotline.example\r\nSubject: ${w(text)}\r\nMessage-ID: <corpus-${n}@customer.example>\r\nMIME-Version: 1.0\r\n`,
      `Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset="${label}"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`, enc(text),
      `\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="${w(`${text.slice(0, 8)}.pdf`)}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`, b64(file), '\r\n--b--\r\n',
    );
    return { id: `${label} (${real})`, group: 'labels', raw, expected: { sender: `label${n}@customer.example`, name, subject: text, body: text, attachments: [{ name: `${text.slice(0, 8)}.pdf`, type: 'application/pdf', size: file.length }] } };
  });
}

/** The generated corpus: every sample in every variant, the charset labels, then the parts. */
export function generatedCorpus(): CorpusMessage[] {
  const charsets = SAMPLES.flatMap((s) => VARIANTS.map((v) => ({ s, v }))).map(({ s, v }, n) => charsetMessage(s, v, n));
  const labels = labelMessages(charsets.length);
  return [...charsets, ...labels, ...structureMessages(charsets.length + labels.length)];
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Per field, how many of these results matched; and the misses by message. */
export function tally(results: Array<{ id: string; group: string; fields: Record<Field, boolean> }>) {
  const count = (rows: typeof results) => Object.fromEntries(FIELDS.map((f) => [f, rows.filter((r) => r.fields[f]).length])) as Record<Field, number>;
  const groups = [...new Set(results.map((r) => r.group))];
  return {
    total: count(results),
    byGroup: Object.fromEntries(groups.map((g) => [g, { n: results.filter((r) => r.group === g).length, ...count(results.filter((r) => r.group === g)) }])),
    misses: results.flatMap((r) => FIELDS.filter((f) => !r.fields[f]).map((f) => `${r.id}: ${f}`)),
  };
}

/**
 * Sends each message over real SMTP to the harness's Hotline, one connection after another as a
 * sender would, waits until each is filed or flagged, and compares what was stored with what was expected.
 */
export async function fileOverSmtp(
  m: { transport: { sendMail(options: object): Promise<{ response: string }> }; hotline: { db: Database } },
  messages: Array<Pick<CorpusMessage, 'id' | 'group' | 'raw' | 'expected'>>,
  waitUntil: (done: () => boolean) => Promise<void>,
) {
  const ids: number[] = [];
  for (const message of messages) {
    const info = await m.transport.sendMail({ envelope: { from: 'sender@customer.example', to: ['support@hotline.example'] }, raw: message.raw });
    ids.push(Number(/stored as (\d+)/.exec(info.response)?.[1]));
  }
  const pending = m.hotline.db.prepare(`SELECT count(*) FROM raw_messages WHERE status = 'new' AND id IN (${ids.map(() => '?').join(',')})`).pluck();
  await waitUntil(() => pending.get(...ids) === 0);
  return messages.map((message, i) => ({ id: message.id, group: message.group, fields: matches(message.expected, storedAs(m.hotline.db, ids[i]!)), seen: storedAs(m.hotline.db, ids[i]!) }));
}
