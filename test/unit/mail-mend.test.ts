import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { detectCharset, mendMail } from '../../src/mail/mend.js';
import { parseMail } from '../../src/mail/parse.js';
import { uudecode, uuBlocks } from '../../src/mail/uuencode.js';

const bytes = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

describe('mending a message before it is parsed', () => {
  it('leaves a message with nothing to mend as it is, byte for byte', async () => {
    const raw = Buffer.from('From: a@customer.example\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHällo\r\n');
    expect(await mendMail(raw)).toBe(raw);
  });

  it('names the charset of short text as a reader would', () => {
    for (const [text, charset] of [['打印机坏了', 'gbk'], ['プリンター', 'shift_jis'], ['Müller', 'windows-1252'], ['Facture de 250 € réglée', 'iso-8859-15'], ['„Grüße“ für 5 €', 'windows-1252'], ['Zażółć gęślą jaźń', 'iso-8859-2'], ['Принтер сломался', 'koi8-r'], ['프린터가 고장났어요', 'euc-kr']] as const)
      expect(iconv.decode(iconv.encode(text, charset), detectCharset(iconv.encode(text, charset)))).toBe(text);
  });

  it('keeps declared UTF-8 that holds UTF-8 beside a stray byte as UTF-8', async () => {
    const raw = bytes('From: a@customer.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n', Buffer.from('Grüße, 打印机'), '\xff\r\n');
    expect((await parseMail(raw)).text).toContain('Grüße, 打印机');
  });

  it('reads a quoted-printable Latin-1 body declared as nothing', async () => {
    const raw = Buffer.from('From: a@customer.example\r\nSubject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n');
    expect((await parseMail(raw)).text.trim()).toBe('Grüße aus Köln');
  });

  it('joins adjacent encoded words of one charset before decoding, also a B word beside a Q word that splits a character', async () => {
    // As in Znuny's PostMaster-Test22: a Cyrillic letter's two bytes are split across a B and a Q word.
    const q = (b: Buffer) => [...b].map((x) => `=${x.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const name = Buffer.from('Евгений Васильев Новоподзалупинский');
    const [a, b, c] = [name.subarray(0, 22), name.subarray(22, 41), name.subarray(41)];
    const words = `=?utf-8?Q?${q(a)}?=\r\n =?utf-8?B?${b.toString('base64')}?=\r\n =?UTF-8?q?${q(c)}?=`;
    const raw = Buffer.from(`From: ${words} <e@customer.example>\r\nSubject: QBQB ${words}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\n\r\nx\r\n`);
    const mail = await parseMail(raw);
    expect(mail.subject).toBe('QBQB Евгений Васильев Новоподзалупинский');
    expect(mail.from).toEqual({ address: 'e@customer.example', name: 'Евгений Васильев Новоподзалупинский' });
    // Words of different charsets, or with text between them, stay apart.
    const apart = await parseMail(Buffer.from('From: a@customer.example\r\nSubject: =?iso-8859-1?Q?Gr=FC=DFe?= =?utf-8?B?w7w=?= und =?utf-8?Q?=C3=A4?=\r\n\r\nx\r\n'));
    expect(apart.subject).toBe('Grüßeü und ä');
  });

  it('takes a quoted local part made of plain characters as the address without quotes, and not one with a space', async () => {
    const fax = await parseMail(Buffer.from('From: <"#FAX#*49000783135#"@fax.example>\r\nSubject: Fax\r\n\r\nx\r\n'));
    expect(fax.from).toEqual({ address: '#fax#*49000783135#@fax.example', name: '' });
    const spaced = await parseMail(Buffer.from('From: "a b"@customer.example\r\nReply-To: c@customer.example\r\nSubject: x\r\n\r\nx\r\n'));
    expect(spaced.from?.address).toBe('c@customer.example');
  });

  it('parses what it cannot split as it came', async () => {
    const raw = bytes('From: a@customer.example\r\nSubject: \xff\xfe\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>a\r\n--B\r\nContent-Type: text/html\r\n');
    const mail = await parseMail(raw);
    expect(mail.html).toContain('a');
  });
});

describe('uuencode', () => {
  it('decodes a file and refuses text that only looks like one', () => {
    expect(uudecode('begin 644 a.txt\n,:&5L;&\\@=V]R;&0*\n`\nend\n')).toEqual({ name: 'a.txt', data: Buffer.from('hello world\n') });
    expect(uudecode('begin 644 plan\nwe begin at 9 and end at 5\nend\n')).toBeNull();
    expect(uuBlocks('begin 644 plan\nwe begin at 9\nend\n')).toEqual({ text: 'begin 644 plan\nwe begin at 9\nend\n', files: [] });
  });
});
