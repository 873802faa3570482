// Page numbers for the short lists (customers, agents, flagged mail): `?page=N`, 50 to a page, with
// the total. Ticket lists page by position instead (ticket-list.ts).

/** Rows per page of an admin list. */
export const ADMIN_PAGE_SIZE = 50;

export interface NumberedPage {
  /** 1-based; a page past the end shows the last one. */
  page: number;
  pages: number;
  offset: number;
  total: number;
  /** 1-based place of the first and last row shown (0 when there are none). */
  from: number;
  to: number;
  /** Query strings (with `keep`) of the pages around this one; null where there is none. */
  links: { first: string | null; previous: string | null; next: string | null; last: string | null };
}

/** Where page `requested` of `total` rows lies, and the links around it. */
export function numberedPage(requested: string | undefined, total: number, keep: URLSearchParams = new URLSearchParams(), size = ADMIN_PAGE_SIZE): NumberedPage {
  const pages = Math.max(1, Math.ceil(total / size));
  const page = Math.min(pages, Math.max(1, Number(requested) || 1));
  const offset = (page - 1) * size;
  const link = (n: number) => {
    const q = new URLSearchParams(keep);
    if (n > 1) q.set('page', String(n));
    else q.delete('page');
    return q.toString();
  };
  return {
    page,
    pages,
    offset,
    total,
    from: total === 0 ? 0 : offset + 1,
    to: Math.min(total, offset + size),
    links: {
      first: page > 1 ? link(1) : null,
      previous: page > 1 ? link(page - 1) : null,
      next: page < pages ? link(page + 1) : null,
      last: page < pages ? link(pages) : null,
    },
  };
}
