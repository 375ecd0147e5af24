import { answer, ApiError, createAdminApi, sessionMessage } from './api.js';
import { field, h, replaceChildren } from './dom.js';
import { normalizeToken } from './session.js';
import type { User } from './types.js';
import { errorBox, screenHeading } from './view.js';

/**
 * The sign-in screen: the operator pastes a token, which is checked against GET /v1/admin/me before it is kept.
 * `message` explains why the console came back here (an expired token, a non-admin one).
 */
export function renderSignIn(
  main: HTMLElement,
  options: { message?: string | undefined; onSignedIn: (token: string, me: User) => void },
): void {
  const heading = screenHeading('Sign in');
  const token = h('textarea', {
    name: 'token',
    rows: 4,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
  });
  const feedback = h('div', { class: 'feedback' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in', novalidate: true },
    field(
      'Access token',
      token,
      'An administrator’s bearer token. In development: npm run ops -- token mint <externalId>. ' +
        'It is kept for this browser tab only.',
    ),
    submit,
    feedback,
  );
  if (options.message) {
    replaceChildren(feedback, refusal(options.message));
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const candidate = normalizeToken(token.value);
    if (!candidate) {
      replaceChildren(feedback, refusal('Paste a token first.'));
      token.focus();
      return;
    }
    submit.disabled = true;
    replaceChildren(feedback, h('p', { class: 'progress' }, 'Checking the token…'));
    answer(createAdminApi(candidate).GET('/v1/admin/me'))
      .then((me) => {
        token.value = '';
        options.onSignedIn(candidate, me);
      })
      .catch((error: unknown) => {
        submit.disabled = false;
        replaceChildren(
          feedback,
          error instanceof ApiError && error.refusesSession
            ? refusal(sessionMessage(error))
            : errorBox(error),
        );
        token.focus();
      });
  });
  replaceChildren(main, heading, form);
  heading.focus();
}

function refusal(message: string): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, h('p', {}, h('strong', {}, message)));
}
