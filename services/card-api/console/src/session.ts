/**
 * The operator's token lives in sessionStorage only: it goes with the tab, never into a URL, a cookie or a log.
 */

const KEY = 'cards-console.token';

/** The token of this tab's session, if signed in. */
export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Keeps the token for this tab. */
export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

/** Forgets the token. */
export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** A pasted token without surrounding space or a leading "Bearer ". */
export function normalizeToken(pasted: string): string {
  return pasted.trim().replace(/^Bearer\s+/i, '');
}
