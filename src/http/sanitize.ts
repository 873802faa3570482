import sanitizeHtml from 'sanitize-html';

/**
 * Makes HTML from a sender safe to show an agent: no script, no event handlers, no
 * `javascript:` or data URLs, no styles (CSS can overlay or exfiltrate), no remote
 * images (tracking pixels); inline `cid:` images point at the ticket's own attachments.
 *
 * @param cidToUrl maps a Content-ID (without `<>`) to the URL of the stored attachment
 * @param options.keepCid keep unresolved `cid:` sources (when sanitising at ingest)
 */
export function sanitizeMailHtml(html: string, cidToUrl: (cid: string) => string | undefined = () => undefined, options: { keepCid?: boolean } = {}): string {
  return sanitizeHtml(html, {
    allowedTags: [
      'p', 'br', 'hr', 'div', 'span', 'blockquote', 'pre', 'code', 'b', 'strong', 'i', 'em', 'u', 's', 'small', 'sub', 'sup',
      'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'a', 'img',
      'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption',
    ],
    allowedAttributes: { a: ['href', 'title', 'rel'], img: ['src', 'alt', 'width', 'height'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: {
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'noopener noreferrer nofollow' } }),
      img: (tagName, attribs) => {
        const cid = /^cid:(.+)$/i.exec(attribs.src ?? '')?.[1];
        // At ingest the attachments have no URL yet: keep `cid:` (harmless) and resolve it at display.
        const url = cid ? (cidToUrl(cid.replace(/^<|>$/g, '')) ?? (options.keepCid ? `cid:${cid}` : undefined)) : undefined;
        // Anything but an inline part of this very mail is dropped: remote images track the reader.
        return url ? { tagName, attribs: { ...attribs, src: url } } : { tagName: 'span', attribs: {}, text: attribs.alt ? `[image: ${attribs.alt}]` : '[image]' };
      },
    },
    // img src is only ever set by the transform above (to an attachment URL), so schemes apply to links.
    allowedSchemesAppliedToAttributes: ['href'],
  });
}
