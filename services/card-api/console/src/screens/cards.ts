import { answer } from '../api.js';
import { button, emptyRow, field, h, replaceChildren, select, table } from '../dom.js';
import { formatTime, utcInputToIso } from '../format.js';
import { CARD_COLORS, CARD_STATUSES, type AdminCard, type CardsSummary, type CardStatus } from '../types.js';
import { Pager, screenHeading, type View } from '../view.js';

const PAGE_SIZE = 20;
const REFRESH_EVERY_MS = 2000;

interface Filters {
  status: string;
  color: string;
  userId: string;
  /** datetime-local values, read as UTC. */
  createdFrom: string;
  createdTo: string;
}

/** Kept while the console is open, so coming back from a card's timeline shows the same list. */
const state: { filters: Filters; order: 'desc' | 'asc'; autoRefresh: boolean } = {
  filters: { status: '', color: '', userId: '', createdFrom: '', createdTo: '' },
  order: 'desc',
  autoRefresh: true,
};

function filterQuery(filters: Filters): Record<string, string | undefined> {
  return {
    status: filters.status || undefined,
    color: filters.color || undefined,
    userId: filters.userId.trim() || undefined,
    createdFrom: utcInputToIso(filters.createdFrom),
    createdTo: utcInputToIso(filters.createdTo),
  };
}

/** A PENDING card older than the threshold, by the server's clock. */
function isStuck(card: AdminCard, summary: CardsSummary | undefined): boolean {
  if (card.status !== 'PENDING' || !summary) {
    return false;
  }
  const ageSeconds = (Date.parse(summary.now) - Date.parse(card.createdAt)) / 1000;
  return ageSeconds > summary.stuckPendingAfterSeconds;
}

/** A status as text in a badge; colour only repeats what the text says. */
export function statusBadge(status: CardStatus): HTMLElement {
  return h('span', { class: `badge badge-${status.toLowerCase()}` }, status);
}

/** The cards screen: counts, filters, a sortable and paged table that refreshes itself. */
export const cardsView: View = (context) => {
  const heading = screenHeading('Cards');
  const errors = h('div', { class: 'feedback' });
  const counts = h('dl', { class: 'counts' });
  const countsSection = h(
    'section',
    { 'aria-labelledby': 'counts-heading' },
    h('h2', { id: 'counts-heading' }, 'Cards by status'),
    counts,
  );

  // Filters
  const status = select('status', CARD_STATUSES, 'Any status', state.filters.status);
  const color = select('color', CARD_COLORS, 'Any colour', state.filters.color);
  const userId = h('input', {
    type: 'text',
    name: 'userId',
    inputmode: 'text',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  userId.value = state.filters.userId;
  const createdFrom = h('input', { type: 'datetime-local', name: 'createdFrom', step: 1 });
  createdFrom.value = state.filters.createdFrom;
  const createdTo = h('input', { type: 'datetime-local', name: 'createdTo', step: 1 });
  createdTo.value = state.filters.createdTo;
  const filterForm = h(
    'form',
    { class: 'filters', 'aria-labelledby': 'filters-heading' },
    h('h2', { id: 'filters-heading' }, 'Filters'),
    h(
      'div',
      { class: 'filter-fields' },
      field('Status', status),
      field('Colour', color),
      field('User id', userId, 'The owner’s UUID.'),
      field('Created from (UTC)', createdFrom),
      field('Created to (UTC)', createdTo),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      button('Clear filters', () => {
        status.value = '';
        color.value = '';
        userId.value = '';
        createdFrom.value = '';
        createdTo.value = '';
        applyFilters();
      }),
    ),
  );
  const applyFilters = (): void => {
    state.filters = {
      status: status.value,
      color: color.value,
      userId: userId.value,
      createdFrom: createdFrom.value,
      createdTo: createdTo.value,
    };
    pager.reset();
    void load({ announce: true });
  };
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });

  // Toolbar
  const autoRefresh = h('input', { type: 'checkbox', id: 'auto-refresh', checked: state.autoRefresh });
  autoRefresh.checked = state.autoRefresh;
  const lastUpdated = h('span', { class: 'meta' });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h(
      'div',
      { class: 'checkbox' },
      autoRefresh,
      h('label', { for: 'auto-refresh' }, 'Refresh every 2 seconds'),
    ),
    button('Refresh now', () => void load({ announce: true })),
    lastUpdated,
  );

  // Table
  const sortButton = button('', () => {
    state.order = state.order === 'desc' ? 'asc' : 'desc';
    pager.reset();
    void load({ announce: true });
  });
  const grid = table('Cards', [sortButton, 'Card', 'Status', 'Colour', 'User id', 'Last 4', 'Updated']);
  grid.table.id = 'cards-table';
  const createdHeader = grid.headRow.firstElementChild as HTMLTableCellElement;
  const pager = new Pager('Cards pages', () => void load({ announce: true }));

  let summary: CardsSummary | undefined;
  let shown = '';
  let loading = false;

  const renderHeader = (): void => {
    const newest = state.order === 'desc';
    createdHeader.setAttribute('aria-sort', newest ? 'descending' : 'ascending');
    sortButton.textContent = `Created ${newest ? '↓' : '↑'}`;
    sortButton.setAttribute(
      'aria-label',
      `Created, sorted ${newest ? 'newest first' : 'oldest first'}; press to sort ${newest ? 'oldest' : 'newest'} first`,
    );
    grid.caption.textContent = `Cards, ${newest ? 'newest' : 'oldest'} first, page ${pager.pageNumber}`;
  };

  const renderCounts = (value: CardsSummary): void => {
    replaceChildren(
      counts,
      CARD_STATUSES.map((name) =>
        h(
          'div',
          { class: `count count-${name.toLowerCase()}` },
          h('dt', {}, name),
          h('dd', {}, value.counts[name]),
        ),
      ),
      h('div', { class: 'count' }, h('dt', {}, 'Total'), h('dd', {}, value.total)),
      h(
        'div',
        { class: `count ${value.stuckPending > 0 ? 'count-stuck' : ''}` },
        h('dt', {}, `Stuck PENDING (over ${value.stuckPendingAfterSeconds} s)`),
        h('dd', {}, value.stuckPending),
      ),
    );
  };

  const renderRows = (cards: AdminCard[]): void => {
    if (cards.length === 0) {
      replaceChildren(grid.body, emptyRow(7, 'No cards match these filters.'));
      return;
    }
    replaceChildren(
      grid.body,
      cards.map((card) => {
        const stuck = isStuck(card, summary);
        return h(
          'tr',
          { 'data-card-id': card.id, 'data-status': card.status, class: stuck ? 'stuck' : null },
          h('td', {}, h('time', { datetime: card.createdAt }, formatTime(card.createdAt))),
          h('th', { scope: 'row' }, h('a', { href: `#/cards/${card.id}`, class: 'mono' }, card.id)),
          h(
            'td',
            {},
            statusBadge(card.status),
            stuck
              ? [
                  ' ',
                  h(
                    'span',
                    { class: 'badge badge-stuck', title: 'PENDING longer than the threshold' },
                    'stuck',
                  ),
                ]
              : null,
          ),
          h('td', {}, card.color),
          h('td', { class: 'mono' }, card.userId),
          h('td', { class: 'mono' }, card.last4 ?? '—'),
          h('td', {}, h('time', { datetime: card.updatedAt }, formatTime(card.updatedAt))),
        );
      }),
    );
  };

  async function load(options: { announce?: boolean } = {}): Promise<void> {
    if (loading) {
      return;
    }
    loading = true;
    renderHeader();
    const filters = filterQuery(state.filters);
    try {
      const [page, nextSummary] = await Promise.all([
        answer(
          context.api.GET('/v1/admin/cards', {
            params: {
              query: {
                ...filters,
                limit: PAGE_SIZE,
                cursor: pager.cursor,
                // desc is the default; asking for it only when it differs keeps the request minimal.
                order: state.order === 'asc' ? 'asc' : undefined,
              },
            },
          }),
        ),
        answer(context.api.GET('/v1/admin/cards/summary', { params: { query: filters } })),
      ]);
      if (!context.isCurrent()) {
        return;
      }
      summary = nextSummary;
      pager.loaded(page.nextCursor);
      renderCounts(nextSummary);
      // Rows are rebuilt only when something changed, so a refresh never steals focus from a link for nothing.
      const fingerprint = JSON.stringify([page.data, page.data.map((card) => isStuck(card, nextSummary))]);
      if (fingerprint !== shown) {
        shown = fingerprint;
        renderRows(page.data);
      }
      replaceChildren(errors);
      lastUpdated.textContent = `Updated ${formatTime(nextSummary.now)}`;
      if (options.announce) {
        context.announce(
          `${nextSummary.total} card(s) match; page ${pager.pageNumber} shows ${page.data.length}.`,
        );
      }
    } catch (error) {
      context.fail(error, errors);
    } finally {
      loading = false;
    }
  }

  let timer: number | undefined;
  const schedule = (): void => {
    window.clearInterval(timer);
    timer = state.autoRefresh ? window.setInterval(() => void load(), REFRESH_EVERY_MS) : undefined;
  };
  autoRefresh.addEventListener('change', () => {
    state.autoRefresh = autoRefresh.checked;
    schedule();
    context.announce(state.autoRefresh ? 'Auto-refresh on.' : 'Auto-refresh off.');
  });

  renderHeader();
  replaceChildren(
    context.main,
    heading,
    errors,
    countsSection,
    filterForm,
    h(
      'section',
      { class: 'list', 'aria-label': 'Card list' },
      toolbar,
      h('div', { class: 'table-wrap' }, grid.table),
      pager.element,
    ),
  );
  heading.focus();
  schedule();
  return load().then(() => () => {
    window.clearInterval(timer);
  });
};
