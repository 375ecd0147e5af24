import { ApiError, type AdminApi } from './api.js';
import { button, h, replaceChildren } from './dom.js';
import type { User } from './types.js';

/** What a screen gets to render itself. */
export interface ViewContext {
  main: HTMLElement;
  api: AdminApi;
  me: User;
  /** Says something through the polite live region (and shows it). */
  announce(message: string): void;
  /** Shows a failure in `slot`; a refused token (401/403) ends the session and returns to sign-in instead. */
  fail(error: unknown, slot: HTMLElement): void;
  /** False once the operator has moved to another screen, so late answers are dropped. */
  isCurrent(): boolean;
}

/** Renders a screen; may return a clean-up (timers) run when the operator leaves it. */
export type View = (context: ViewContext) => Promise<(() => void) | undefined>;

/** The problem details of a failed call, with its code and request id, as an alert. */
export function errorBox(error: unknown): HTMLElement {
  const apiError =
    error instanceof ApiError
      ? error
      : new ApiError({ status: 0, title: 'Something went wrong', detail: String(error) });
  const meta = [
    apiError.status > 0 ? `HTTP ${apiError.status}` : null,
    apiError.code ? `code ${apiError.code}` : null,
    apiError.requestId ? `request id ${apiError.requestId}` : null,
  ].filter((part): part is string => part !== null);
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, h('strong', {}, apiError.title), apiError.detail ? ` — ${apiError.detail}` : ''),
    meta.length > 0 ? h('p', { class: 'meta' }, meta.join(' · ')) : null,
  );
}

/** The screen's heading; it takes focus on arrival so screen readers announce the new screen. */
export function screenHeading(text: string): HTMLHeadingElement {
  return h('h1', { tabindex: -1, class: 'screen-heading' }, text);
}

/**
 * Cursor paging: page i was fetched with cursors[i] (undefined for the first page). Cursors are opaque and only go
 * forwards, so "Previous" walks back through the ones already seen. The buttons stay the same elements across
 * loads, so keyboard focus stays on the one just pressed.
 */
export class Pager {
  readonly element: HTMLElement;
  private cursors: (string | undefined)[] = [undefined];
  private nextCursor: string | null = null;
  private readonly first: HTMLButtonElement;
  private readonly previous: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly number = h('span', { class: 'page-number' });

  /** `reload` fetches the page the pager points at after a button press. */
  constructor(label: string, reload: () => void) {
    this.first = button('First', () => {
      this.reset();
      reload();
    });
    this.previous = button('Previous', () => {
      this.cursors.pop();
      this.render();
      reload();
    });
    this.next = button('Next page', () => {
      if (this.nextCursor) {
        this.cursors.push(this.nextCursor);
        this.render();
        reload();
      }
    });
    this.element = h(
      'nav',
      { class: 'pager', 'aria-label': label },
      this.first,
      this.previous,
      this.number,
      this.next,
    );
    this.render();
  }

  get cursor(): string | undefined {
    return this.cursors.at(-1);
  }

  get pageNumber(): number {
    return this.cursors.length;
  }

  /** Remembers where the page just loaded continues. */
  loaded(nextCursor: string | null): void {
    this.nextCursor = nextCursor;
    this.render();
  }

  /** Back to the first page (new filters, a new sort order). */
  reset(): void {
    this.cursors = [undefined];
    this.nextCursor = null;
    this.render();
  }

  private render(): void {
    this.first.disabled = this.cursors.length <= 1;
    this.previous.disabled = this.cursors.length <= 1;
    this.next.disabled = !this.nextCursor;
    replaceChildren(this.number, `Page ${this.pageNumber}`);
  }
}
