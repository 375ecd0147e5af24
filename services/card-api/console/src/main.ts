import { answer, ApiError, createAdminApi, sessionMessage } from './api.js';
import { replaceChildren } from './dom.js';
import { auditView } from './screens/audit.js';
import { cardDetailView } from './screens/card-detail.js';
import { cardsView } from './screens/cards.js';
import { pipelineView } from './screens/pipeline.js';
import { usersView } from './screens/users.js';
import { clearToken, storedToken, storeToken } from './session.js';
import { renderSignIn } from './sign-in.js';
import type { User } from './types.js';
import { errorBox, type View, type ViewContext } from './view.js';

/** Hash routes: the token never appears in a URL, and a reload keeps the screen. */
const routes: { pattern: RegExp; nav: string; title: string; view: (match: RegExpMatchArray) => View }[] = [
  {
    pattern: /^#\/cards\/([0-9a-fA-F-]{1,64})$/,
    nav: 'cards',
    title: 'Card',
    view: (m) => cardDetailView(m[1] ?? ''),
  },
  { pattern: /^#\/cards$/, nav: 'cards', title: 'Cards', view: () => cardsView },
  { pattern: /^#\/users$/, nav: 'users', title: 'Users', view: () => usersView },
  { pattern: /^#\/pipeline$/, nav: 'pipeline', title: 'Pipeline health', view: () => pipelineView },
  { pattern: /^#\/audit$/, nav: 'audit', title: 'Audit log', view: () => auditView },
];

const elements = {
  main: byId('main'),
  nav: byId('nav'),
  session: byId('session'),
  signedInAs: byId('signed-in-as'),
  signOut: byId('sign-out'),
  status: byId('status'),
};

let me: User | undefined;
let cleanup: (() => void) | undefined;
/** Bumped on every render, so an answer for a screen already left is dropped. */
let generation = 0;

function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`the page has no #${id}`);
  }
  return element;
}

let statusTimer: number | undefined;

/** Says `message` in the polite live region; it stays on screen for a while, then goes. */
function announce(message: string): void {
  // Emptied first so the same message twice is announced twice.
  elements.status.textContent = '';
  window.clearTimeout(statusTimer);
  window.setTimeout(() => {
    elements.status.textContent = message;
  }, 50);
  statusTimer = window.setTimeout(() => {
    elements.status.textContent = '';
  }, 10_000);
}

function leaveScreen(): void {
  // What was said about the last screen is not about the next one (a message announced just now still follows).
  elements.status.textContent = '';
  cleanup?.();
  cleanup = undefined;
  generation += 1;
}

/** Ends the session and shows sign-in, with the reason when there is one. */
function signOut(message?: string): void {
  leaveScreen();
  clearToken();
  me = undefined;
  elements.nav.hidden = true;
  elements.session.hidden = true;
  elements.signedInAs.textContent = '';
  document.title = 'Sign in · Operator console';
  renderSignIn(elements.main, {
    message,
    onSignedIn: (token, user) => {
      storeToken(token);
      me = user;
      if (!routes.some((route) => route.pattern.test(location.hash))) {
        location.hash = '#/cards';
      }
      announce(`Signed in as ${user.externalId}.`);
      void render();
    },
  });
}

async function render(): Promise<void> {
  leaveScreen();
  const token = storedToken();
  if (!token) {
    signOut();
    return;
  }
  const api = createAdminApi(token);
  const mine = generation;
  if (!me) {
    try {
      me = await answer(api.GET('/v1/admin/me'));
    } catch (error) {
      if (error instanceof ApiError && error.refusesSession) {
        signOut(sessionMessage(error));
      } else {
        replaceChildren(elements.main, errorBox(error));
      }
      return;
    }
    if (mine !== generation) {
      return;
    }
  }
  const route = routes.find((candidate) => candidate.pattern.test(location.hash));
  if (!route) {
    location.replace('#/cards');
    return;
  }
  elements.nav.hidden = false;
  elements.session.hidden = false;
  elements.signedInAs.textContent = `Signed in as ${me.externalId}`;
  for (const link of elements.nav.querySelectorAll('a')) {
    if (link.dataset['route'] === route.nav) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  document.title = `${route.title} · Operator console`;
  const context: ViewContext = {
    main: elements.main,
    api,
    me,
    announce,
    isCurrent: () => mine === generation,
    fail: (error, slot) => {
      if (mine !== generation) {
        return;
      }
      if (error instanceof ApiError && error.refusesSession) {
        signOut(sessionMessage(error));
        return;
      }
      replaceChildren(slot, errorBox(error));
    },
  };
  const match = location.hash.match(route.pattern) ?? [];
  const screenCleanup = await route.view(match as RegExpMatchArray)(context);
  if (mine === generation) {
    cleanup = screenCleanup;
  } else {
    screenCleanup?.();
  }
}

elements.signOut.addEventListener('click', () => {
  signOut();
  announce('Signed out.');
});
window.addEventListener('hashchange', () => {
  void render();
});
void render();
