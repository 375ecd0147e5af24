import { answer, ApiError } from '../api.js';
import { emptyRow, field, h, replaceChildren, table } from '../dom.js';
import { formatTime } from '../format.js';
import { errorBox, Pager, screenHeading, type View } from '../view.js';

/** Users: a paged list, and a form to create one. */
export const usersView: View = async (context) => {
  const heading = screenHeading('Users');
  const listErrors = h('div', { class: 'feedback' });
  const formFeedback = h('div', { class: 'feedback' });

  const externalId = h('input', {
    type: 'text',
    name: 'externalId',
    required: true,
    autocomplete: 'off',
    maxlength: 200,
  });
  const email = h('input', {
    type: 'email',
    name: 'email',
    required: true,
    autocomplete: 'off',
    maxlength: 320,
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create user');
  const form = h(
    'form',
    { class: 'create-user', 'aria-labelledby': 'create-user-heading', novalidate: true },
    h('h2', { id: 'create-user-heading' }, 'Create a user'),
    h(
      'div',
      { class: 'filter-fields' },
      field('External id', externalId, 'The user’s id at the identity provider (the token’s subject).'),
      field('Email', email),
    ),
    h('div', { class: 'actions' }, submit),
    formFeedback,
  );

  const grid = table('Users, newest first', ['External id', 'Email', 'Role', 'Created', 'User id']);
  grid.table.id = 'users-table';
  const pager = new Pager('Users pages', () => void load(true));

  const load = async (announce: boolean): Promise<void> => {
    try {
      const page = await answer(
        context.api.GET('/v1/admin/users', { params: { query: { limit: 20, cursor: pager.cursor } } }),
      );
      if (!context.isCurrent()) {
        return;
      }
      pager.loaded(page.nextCursor);
      grid.caption.textContent = `Users, newest first, page ${pager.pageNumber}`;
      replaceChildren(
        grid.body,
        page.data.length === 0
          ? emptyRow(5, 'No users yet.')
          : page.data.map((user) =>
              h(
                'tr',
                { 'data-user-id': user.id },
                h('th', { scope: 'row' }, user.externalId),
                h('td', {}, user.email),
                h('td', {}, user.role),
                h('td', {}, h('time', { datetime: user.createdAt }, formatTime(user.createdAt))),
                h('td', { class: 'mono' }, user.id),
              ),
            ),
      );
      replaceChildren(listErrors);
      if (announce) {
        context.announce(`${page.data.length} user(s) on page ${pager.pageNumber}.`);
      }
    } catch (error) {
      context.fail(error, listErrors);
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const missing = [
      !externalId.value.trim() ? externalId : null,
      !email.value.trim() || !email.validity.valid ? email : null,
    ].filter((input): input is HTMLInputElement => input !== null);
    for (const input of [externalId, email]) {
      input.setAttribute('aria-invalid', String(missing.includes(input)));
    }
    if (missing.length > 0) {
      replaceChildren(
        formFeedback,
        h(
          'div',
          { class: 'error', role: 'alert' },
          h('p', {}, 'Enter an external id and a valid email address.'),
        ),
      );
      missing[0]?.focus();
      return;
    }
    submit.disabled = true;
    answer(
      context.api.POST('/v1/admin/users', {
        body: { externalId: externalId.value.trim(), email: email.value.trim() },
      }),
    )
      .then((user) => {
        if (!context.isCurrent()) {
          return;
        }
        replaceChildren(
          formFeedback,
          h('p', { class: 'success', role: 'status' }, `Created user ${user.externalId} (${user.id}).`),
        );
        externalId.value = '';
        email.value = '';
        pager.reset();
        return load(false);
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.refusesSession) {
          context.fail(error, formFeedback);
          return;
        }
        // A conflict (409 USER_ALREADY_EXISTS) and validation problems are shown beside the form.
        replaceChildren(formFeedback, errorBox(error));
        externalId.focus();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  replaceChildren(
    context.main,
    heading,
    form,
    h(
      'section',
      { 'aria-labelledby': 'users-list-heading' },
      h('h2', { id: 'users-list-heading' }, 'All users'),
      listErrors,
      h('div', { class: 'table-wrap' }, grid.table),
      pager.element,
    ),
  );
  heading.focus();
  await load(false);
  return undefined;
};
