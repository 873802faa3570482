// A ticket list as the page and the API ask for it: the filter and order from the URL, one page of
// rows at a position, the total, and the links to the pages around it (keyset paging).
import type { Hotline } from '../app.js';
import type { ListCursor, SortDirection, TicketFilter, TicketListItem, TicketSort } from '../core/ports.js';
import { SORT_KEY_LENGTH, sortKeyOf, TICKET_SORTS } from '../core/ports.js';
import type { TicketState } from '../core/types.js';
import { TICKET_STATES } from '../core/types.js';
import { cursorField, cursorParam } from './page-helpers.js';

/** The URL parameters a list's filter and order are kept in (also what a saved filter stores). */
export interface ListParams {
  queue?: string;
  mine?: string;
  state?: string;
  owner?: string;
  priority?: string;
  q?: string;
  sort?: string;
  dir?: string;
}

export const FILTER_KEYS = ['queue', 'state', 'owner', 'priority', 'q', 'sort', 'dir'] as const;

/** What the list shows, made from its parameters (`mine=1` is the older spelling of `owner=me`). */
export function listFilter(params: ListParams, agentId: number): { filter: TicketFilter; state: string; owner: string } {
  const filter: TicketFilter = {};
  if (params.queue) filter.queueId = Number(params.queue);
  const owner = params.owner || (params.mine ? 'me' : '');
  if (owner === 'me') filter.ownerId = agentId;
  else if (owner === 'none') filter.ownerId = null;
  else if (owner) filter.ownerId = Number(owner);
  if (params.priority) filter.priority = Number(params.priority);
  const q = (params.q ?? '').trim();
  if (q) filter.search = q;
  // A search looks in every state unless one is chosen; the form then says "all", as it does.
  let state = params.state ?? '';
  if (!state) state = q ? 'all' : 'open-ones';
  if (state === 'open-ones') filter.state = 'any-open';
  else if ((TICKET_STATES as readonly string[]).includes(state)) filter.state = state as TicketState;
  filter.sort = (TICKET_SORTS as readonly string[]).includes(params.sort ?? '') ? (params.sort as TicketSort) : 'updated';
  filter.direction = params.dir === 'asc' ? 'asc' : 'desc';
  return { filter, state, owner };
}

/** The parameters that say what a list shows, without its position (for links and saved filters). */
export function filterQuery(params: ListParams): URLSearchParams {
  const out = new URLSearchParams();
  if (params.mine && !params.owner) out.set('owner', 'me');
  for (const key of FILTER_KEYS) {
    const v = params[key];
    if (v) out.set(key, v);
  }
  return out;
}

export interface ListPage {
  items: readonly TicketListItem[];
  total: number;
  /** 1-based place of the first row, where known. */
  from: number | null;
  /** Query strings of the pages around this one (null: there is none), each with the filter kept. */
  links: { first: string | null; previous: string | null; next: string | null; last: string | null };
}

/**
 * One page of the list: `after`/`before` positions (and `at`, the place of the page's first row,
 * carried only to say "51–100 of N") as the links give them.
 */
export async function listPage(
  hotline: Pick<Hotline, 'tickets'>,
  agentId: number,
  filter: TicketFilter,
  position: { after?: string; before?: string; at?: string },
  keep: URLSearchParams,
  pageSize: number,
): Promise<ListPage> {
  const sort = filter.sort ?? 'updated';
  const keyLength = SORT_KEY_LENGTH[sort];
  const after = cursorField(position, 'after', keyLength);
  const before: ListCursor | 'end' | undefined = position.before === 'end' ? 'end' : cursorField(position, 'before', keyLength);
  const at = position.at ? Number(position.at) : null;
  // One row more than the page shows, to know whether there is a page beyond it.
  const [found, total] = await Promise.all([
    hotline.tickets.listVisible(agentId, { ...filter, limit: pageSize + 1, after: before ? undefined : after, before }),
    hotline.tickets.countVisibleMatching(agentId, filter),
  ]);
  const backwards = before !== undefined;
  const more = found.length > pageSize;
  const items = backwards ? found.slice(Math.max(0, found.length - pageSize)) : found.slice(0, pageSize);
  const link = (extra: Record<string, string>) => {
    const q = new URLSearchParams(keep);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return q.toString();
  };
  const cursorAt = (t: TicketListItem) => cursorParam({ key: sortKeyOf(t, sort), id: t.id });
  let from: number | null = at;
  if (before === 'end') from = Math.max(1, total - items.length + 1);
  else if (!after && !before) from = 1;
  const hasPrevious = backwards ? more : after !== undefined;
  const hasNext = backwards ? before !== 'end' : more;
  const first = items[0];
  const last = items.at(-1);
  return {
    items,
    total,
    from: items.length ? from : null,
    links: {
      first: hasPrevious ? link({}) : null,
      previous: hasPrevious && first ? link({ before: cursorAt(first), ...(from !== null ? { at: String(Math.max(1, from - pageSize)) } : {}) }) : null,
      next: hasNext && last ? link({ after: cursorAt(last), ...(from !== null ? { at: String(from + items.length) } : {}) }) : null,
      last: hasNext ? link({ before: 'end' }) : null,
    },
  };
}

/** The direction a column's heading link sorts by: the other one when the list is sorted by it already. */
export function headingDirection(column: TicketSort, sort: TicketSort, direction: SortDirection): SortDirection {
  if (column !== sort) return column === 'ttn' || column === 'owner' ? 'asc' : 'desc';
  return direction === 'desc' ? 'asc' : 'desc';
}
