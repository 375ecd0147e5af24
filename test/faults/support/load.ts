import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { loadConfig } from '../../../services/card-api/src/config';
import { mintToken } from '../../../services/card-api/src/entry-points/cli/dev-token';

/** What the client side saw: every card the API accepted (202), and what it gave up on. */
export interface LoadOutcome {
  accepted: Set<string>;
  requests: number;
  retries: number;
  gaveUp: number;
}

/**
 * Drives card requests open-loop (on a fixed schedule, not waiting for answers) from many users, as a careful
 * client would: each request carries an Idempotency-Key and is retried with the same key on a network error, a
 * 5xx or 409 IDEMPOTENCY_REQUEST_IN_PROGRESS, so a crash of card-api mid-request never leaves the client unsure.
 * Given several card-api replicas, requests go round them, and a retry goes to the next one (a load balancer's way).
 */
export async function driveLoad(options: {
  apiUrl: string | readonly string[];
  tokens: readonly string[];
  durationMs: number;
  /** When given, the load also goes on until it settles (the faults it runs under are over). */
  until?: Promise<unknown>;
  ratePerSecond: number;
  random: () => number;
}): Promise<LoadOutcome> {
  const until = { over: options.until === undefined };
  void options.until?.finally(() => {
    until.over = true;
  });
  const outcome: LoadOutcome = { accepted: new Set(), requests: 0, retries: 0, gaveUp: 0 };
  const colors = ['black', 'white', 'silver', 'gold', 'blue', 'pink'];
  const inFlight: Promise<void>[] = [];
  const startedAt = Date.now();
  for (let sent = 0; Date.now() - startedAt < options.durationMs || !until.over; sent++) {
    const token = options.tokens[Math.floor(options.random() * options.tokens.length)] ?? '';
    const color = colors[Math.floor(options.random() * colors.length)] ?? 'gold';
    const urls = typeof options.apiUrl === 'string' ? [options.apiUrl] : options.apiUrl;
    const rotated = [...urls.slice(sent % urls.length), ...urls.slice(0, sent % urls.length)];
    inFlight.push(requestCard(rotated, token, color, outcome));
    const nextAt = startedAt + ((sent + 1) * 1000) / options.ratePerSecond;
    await sleep(Math.max(0, nextAt - Date.now()));
  }
  await Promise.all(inFlight);
  return outcome;
}

async function requestCard(
  apiUrls: readonly string[],
  token: string,
  color: string,
  outcome: LoadOutcome,
): Promise<void> {
  const key = randomUUID();
  outcome.requests++;
  // About two minutes of retries: a careful client outlasts a database outage of a minute.
  for (let attempt = 1; attempt <= 70; attempt++) {
    try {
      const response = await fetch(`${apiUrls[(attempt - 1) % apiUrls.length] ?? ''}/v1/cards`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ color }),
        signal: AbortSignal.timeout(5000),
      });
      if (response.status === 202) {
        outcome.accepted.add(((await response.json()) as { id: string }).id);
        return;
      }
      await response.body?.cancel();
      if (response.status < 500 && response.status !== 409) {
        outcome.gaveUp++;
        return;
      }
    } catch {
      // card-api is down or the answer was lost: retry with the same key.
    }
    outcome.retries++;
    await sleep(Math.min(2000, 200 * attempt));
  }
  outcome.gaveUp++;
}

/**
 * Creates `count` users through the admin API (as an operator would) and returns a development token for each: the
 * users a load drives cards for.
 */
export async function createLoadUsers(apiUrl: string, count: number, label: string): Promise<string[]> {
  const config = loadConfig({});
  const admin = await mintToken(config.ADMIN_EXTERNAL_ID, config);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const externalId = `${label}-user-${i}-${randomUUID()}`;
    const response = await fetch(`${apiUrl}/v1/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId, email: `${externalId}@example.test` }),
    });
    if (response.status !== 201) {
      throw new Error(`creating a user answered ${response.status}`);
    }
    tokens.push(await mintToken(externalId, config));
  }
  return tokens;
}
