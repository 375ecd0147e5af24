/** Tiny DOM helpers: every piece of data reaches the page as text, never as HTML. */

export type Child = Node | string | number | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | null | undefined>;

/** Creates an element with attributes (true = present, false/null/undefined = absent) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
}

/** Replaces an element's children. */
export function replaceChildren(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren(
    ...children
      .flat()
      .filter(
        (child): child is Node | string | number => child !== null && child !== undefined && child !== false,
      )
      .map((child) => (typeof child === 'number' ? String(child) : child)),
  );
}

/** A button that runs `action` on click. */
export function button(label: string, action: () => void, attributes: Attributes = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', ...attributes }, label);
  element.addEventListener('click', action);
  return element;
}

let nextId = 0;

/** An id unique within the page, for label/aria references. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled form control inside a wrapper, so every input has a visible, programmatic label. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  if (!control.id) {
    control.id = uniqueId('field');
  }
  const hintElement = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintElement) {
    control.setAttribute('aria-describedby', hintElement.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement);
}

/** A select with an "any" option first. */
export function select(
  name: string,
  options: readonly string[],
  anyLabel: string,
  value = '',
): HTMLSelectElement {
  const element = h(
    'select',
    { name },
    h('option', { value: '' }, anyLabel),
    options.map((option) => h('option', { value: option }, option)),
  );
  element.value = value;
  return element;
}

/** A table with a caption and column headers (scope=col). */
export function table(
  caption: string,
  headers: readonly (string | Node)[],
  className = 'data',
): {
  table: HTMLTableElement;
  caption: HTMLTableCaptionElement;
  headRow: HTMLTableRowElement;
  body: HTMLTableSectionElement;
} {
  const captionElement = h('caption', {}, caption);
  const headRow = h(
    'tr',
    {},
    headers.map((header) => h('th', { scope: 'col' }, header)),
  );
  const body = h('tbody');
  const element = h('table', { class: className }, captionElement, h('thead', {}, headRow), body);
  return { table: element, caption: captionElement, headRow, body };
}

/** A row with a single cell across every column, e.g. "No cards match". */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h('tr', {}, h('td', { colspan: columns, class: 'empty' }, text));
}
