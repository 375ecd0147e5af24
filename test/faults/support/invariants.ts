import { setTimeout as sleep } from 'node:timers/promises';

import type { Kafka } from 'kafkajs';
import { Client } from 'pg';

import type { OutageWindow } from './chaos';

/** One checked invariant: its name, how many rows break it, and a sample of them. */
export interface InvariantResult {
  name: string;
  violations: number;
  examined: number;
  sample: string[];
}

interface LocalCard {
  id: string;
  status: string;
  provider_card_id: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
}

interface ProviderCardRow {
  id: string;
  reference: string;
  status: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Messages behind each group's committed offsets, summed over the topic's partitions. */
export async function consumerLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    let lag = 0;
    for (const end of ends) {
      const offset =
        committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
      lag += Number(end.offset) - Math.max(0, Number(offset));
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** The keys of every message on a topic, read from the beginning up to its current end. */
export async function topicKeys(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, end) => sum + Number(end.offset) - Number(end.low), 0);
  if (total === 0) {
    return [];
  }
  const keys: string[] = [];
  const consumer = kafka.consumer({
    groupId: `fault-suite-reader-${Date.now()}-${Math.random()}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`read only ${keys.length} of ${total} messages of ${topic}`));
    }, 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          keys.push(message.key?.toString() ?? '');
          if (keys.length >= total) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return keys;
}

/** Whether the system has settled: nothing PENDING, outbox drained, no lag, compensations done. */
export async function quiescent(options: {
  cardDatabaseUrl: string;
  providerDatabaseUrl: string;
  kafka: Kafka;
}): Promise<string | undefined> {
  const [pending] = await query<{ count: string }>(
    options.cardDatabaseUrl,
    /* sql */ "SELECT count(*) AS count FROM cards WHERE status = 'PENDING'",
  );
  if (Number(pending?.count) > 0) {
    return `${pending?.count} cards PENDING`;
  }
  const [unpublished] = await query<{ count: string }>(
    options.cardDatabaseUrl,
    /* sql */ 'SELECT count(*) AS count FROM outbox WHERE published_at IS NULL',
  );
  if (Number(unpublished?.count) > 0) {
    return `${unpublished?.count} outbox rows unpublished`;
  }
  const lags = await Promise.all([
    consumerLag(options.kafka, 'provider-worker', 'cards.provisioning.commands.v1'),
    consumerLag(options.kafka, 'card-api.card-events', 'cards.provisioning.results.v1'),
  ]);
  if (lags.some((lag) => lag > 0)) {
    return `consumer lag ${lags.join(' / ')}`;
  }
  const orphans = await orphanProviderCards(options.cardDatabaseUrl, options.providerDatabaseUrl);
  if (orphans.length > 0) {
    return `${orphans.length} provider cards active without an ACTIVE card of ours`;
  }
  return undefined;
}

/**
 * Waits until `quiescent` holds, checking every second, for at most `timeoutMs`; how long it took, and why the system
 * had not settled when it is still not quiescent at the end (an error in the check counts as not yet).
 */
export async function waitForQuiescence(
  options: Parameters<typeof quiescent>[0],
  timeoutMs: number,
): Promise<{ seconds: number; reason: string | undefined }> {
  const startedAt = Date.now();
  const check = (): Promise<string | undefined> =>
    quiescent(options).catch((error: unknown) => String(error));
  let reason = await check();
  while (reason !== undefined && Date.now() - startedAt < timeoutMs) {
    await sleep(1000);
    reason = await check();
  }
  return { seconds: (Date.now() - startedAt) / 1000, reason };
}

async function orphanProviderCards(cardDatabaseUrl: string, providerDatabaseUrl: string): Promise<string[]> {
  const cards = new Map(
    (await query<LocalCard>(cardDatabaseUrl, /* sql */ 'SELECT id, status, provider_card_id FROM cards')).map(
      (card) => [card.id, card],
    ),
  );
  const provider = await query<ProviderCardRow>(
    providerDatabaseUrl,
    /* sql */ "SELECT id, reference::text AS reference, status FROM mock_provider.cards WHERE status = 'ACTIVE'",
  );
  return provider
    .filter((issued) => {
      const local = cards.get(issued.reference);
      return !local || local.status !== 'ACTIVE' || local.provider_card_id !== issued.id;
    })
    .map((issued) => `${issued.id} for ${issued.reference}`);
}

/** How far around an outage's window a card counts as requested during it: its saga overlapped the outage. */
const AROUND_OUTAGE_MS = 5000;

/** An attempt started just before the deadline may make its card a little after it (the suite's call timeout). */
const DEADLINE_SLACK_MS = 5000;

/** Checks every invariant of the issue and returns one row each. */
export async function checkInvariants(options: {
  cardDatabaseUrl: string;
  providerDatabaseUrl: string;
  kafka: Kafka;
  accepted: ReadonlySet<string>;
  poisonKeys: readonly string[];
  /** Long outages of the run (see buildOutageLane); the database and broker ones are shorter than the deadline. */
  outages: readonly OutageWindow[];
  sagaDeadlineSeconds: number;
}): Promise<InvariantResult[]> {
  const cards = await query<LocalCard>(
    options.cardDatabaseUrl,
    /* sql */ 'SELECT id, status, provider_card_id, last4, exp_month, exp_year FROM cards',
  );
  const byId = new Map(cards.map((card) => [card.id, card]));
  const provider = await query<ProviderCardRow>(
    options.providerDatabaseUrl,
    /* sql */ 'SELECT id, reference::text AS reference, status, last4, exp_month, exp_year FROM mock_provider.cards',
  );
  const providerByReference = new Map<string, ProviderCardRow[]>();
  for (const issued of provider) {
    providerByReference.set(issued.reference, [...(providerByReference.get(issued.reference) ?? []), issued]);
  }
  // A card recorded as cancelled at the provider: the provider's own store must agree, for every card it issued.
  const recordedCancelled = await query<{ id: string }>(
    options.cardDatabaseUrl,
    /* sql */ 'SELECT id FROM cards WHERE provider_cancelled_at IS NOT NULL',
  );
  const cancelledButActive = recordedCancelled
    .filter((card) =>
      (providerByReference.get(card.id) ?? []).some((issued) => issued.status !== 'CANCELLED'),
    )
    .map((card) => card.id);
  const row = (name: string, examined: number, broken: string[]): InvariantResult => ({
    name,
    examined,
    violations: broken.length,
    sample: broken.slice(0, 5),
  });

  const missing = [...options.accepted].filter((id) => !byId.has(id));
  const notTerminal = cards.filter((card) => card.status === 'PENDING').map((card) => card.id);
  const active = cards.filter((card) => card.status === 'ACTIVE');
  const activeMismatch = active
    .filter((card) => {
      const issued = providerByReference.get(card.id) ?? [];
      const match = issued.filter((p) => p.status === 'ACTIVE' && p.id === card.provider_card_id);
      const [only] = match;
      return (
        match.length !== 1 ||
        !only ||
        only.last4 !== card.last4 ||
        only.exp_month !== card.exp_month ||
        only.exp_year !== card.exp_year
      );
    })
    .map((card) => card.id);
  const orphans = await orphanProviderCards(options.cardDatabaseUrl, options.providerDatabaseUrl);
  const duplicates = [...providerByReference]
    .filter(([, issued]) => issued.length > 1)
    .map(([reference]) => reference);
  // The last publish error says why rows are stuck (the relay records it on every failed attempt).
  const [unpublished] = await query<{ count: string; last_error: string | null }>(
    options.cardDatabaseUrl,
    /* sql */ `SELECT count(*) AS count,
                      (array_agg(last_error ORDER BY id DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
                 FROM outbox WHERE published_at IS NULL`,
  );
  const lags = await Promise.all([
    consumerLag(options.kafka, 'provider-worker', 'cards.provisioning.commands.v1'),
    consumerLag(options.kafka, 'card-api.card-events', 'cards.provisioning.results.v1'),
  ]);
  const deadLetters = [
    ...(await topicKeys(options.kafka, 'cards.provisioning.commands.v1.dlq')),
    ...(await topicKeys(options.kafka, 'cards.provisioning.results.v1.dlq')),
  ];
  const unexpectedDeadLetters = deadLetters.filter((key) => !options.poisonKeys.includes(key));
  const missingPoison = options.poisonKeys.filter((key) => !deadLetters.includes(key));
  // Cards whose saga overlapped a database or broker outage shorter than the deadline: the outage only delays them.
  const requested = await query<{
    id: string;
    status: string;
    failure_code: string | null;
    created_ms: string;
  }>(
    options.cardDatabaseUrl,
    /* sql */ 'SELECT id, status, failure_code, (extract(epoch FROM created_at) * 1000)::bigint AS created_ms FROM cards',
  );
  const aroundOutage = requested.filter((card) =>
    options.outages.some(
      (outage) =>
        outage.kind !== 'provider' &&
        Number(card.created_ms) >= outage.from - AROUND_OUTAGE_MS &&
        Number(card.created_ms) <= outage.to + AROUND_OUTAGE_MS,
    ),
  );
  const delayedNotActive = aroundOutage
    .filter((card) => card.status !== 'ACTIVE')
    .map((card) => `${card.id} ${card.status}/${card.failure_code ?? ''}`);
  // The provider's own clock and ours are one machine's: a provider card made past its card's deadline is a
  // command the worker should have refused (item 6), whatever the provider outage did. An attempt that started
  // just before the deadline may finish after it: a call's timeout of slack.
  const lateProviderCards = await query<{ reference: string; created_ms: string }>(
    options.providerDatabaseUrl,
    /* sql */ 'SELECT reference::text AS reference, (extract(epoch FROM created_at) * 1000)::bigint AS created_ms FROM mock_provider.cards',
  );
  const createdMs = new Map(requested.map((card) => [card.id, Number(card.created_ms)]));
  const madeLate = lateProviderCards
    .filter((issued) => {
      const requestedAt = createdMs.get(issued.reference);
      return (
        requestedAt !== undefined &&
        Number(issued.created_ms) > requestedAt + options.sagaDeadlineSeconds * 1000 + DEADLINE_SLACK_MS
      );
    })
    .map((issued) => issued.reference);

  return [
    row('every request answered 202 has a card', options.accepted.size, missing),
    row('every card is terminal (ACTIVE or FAILED)', cards.length, notTerminal),
    row(
      'every ACTIVE card has exactly one active provider card, same last4 and expiry',
      active.length,
      activeMismatch,
    ),
    row('no provider card is active unless its card is ACTIVE with it', provider.length, orphans),
    row('no card has more than one provider card', providerByReference.size, duplicates),
    row(
      "no card is recorded as cancelled while the provider's card is not CANCELLED",
      recordedCancelled.length,
      cancelledButActive,
    ),
    row(
      'the outbox is drained',
      1,
      Number(unpublished?.count) > 0
        ? [`${unpublished?.count} unpublished (last error: ${unpublished?.last_error ?? 'none'})`]
        : [],
    ),
    row(
      'consumer lag is zero (worker / card-events)',
      2,
      lags.some((lag) => lag > 0) ? [lags.join(' / ')] : [],
    ),
    row('dead letters hold only the poisoned messages', deadLetters.length, unexpectedDeadLetters),
    row('every poisoned message reached a dead-letter topic', options.poisonKeys.length, missingPoison),
    row(
      'every card requested around a database or broker outage (shorter than the deadline) is ACTIVE',
      aroundOutage.length,
      delayedNotActive,
    ),
    row('no provider card was made after its card’s saga deadline', lateProviderCards.length, madeLate),
  ];
}

/** A plain-text table of the results. */
export function formatTable(results: readonly InvariantResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  const lines = results.map(
    (result) =>
      `${result.violations === 0 ? 'ok  ' : 'FAIL'}  ${result.name.padEnd(width)}  examined ${String(result.examined).padStart(5)}  violations ${result.violations}${
        result.sample.length > 0 ? `  e.g. ${result.sample.join(', ')}` : ''
      }`,
  );
  return lines.join('\n');
}

/** How the cards ended, by status and failure code, for the run's report. */
export async function outcomeCounts(cardDatabaseUrl: string): Promise<Record<string, number>> {
  const rows = await query<{ outcome: string; count: string }>(
    cardDatabaseUrl,
    /* sql */ "SELECT status || coalesce('/' || failure_code, '') AS outcome, count(*) AS count FROM cards GROUP BY 1",
  );
  return Object.fromEntries(rows.map((row) => [row.outcome, Number(row.count)]));
}
