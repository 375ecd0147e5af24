/**
 * The load generator: a process of its own (started by lib/generator.ts), so that what it spends shows as its own
 * CPU and never slows the orchestrator, and the orchestrator's work (reading /proc, querying the database) never
 * delays a send. Lean on purpose: undici with keep-alive, no logging per request, results summed up in memory and
 * handed back once per job over the IPC channel.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Agent } from 'undici';

import { bareProducerSend, kafkaTwoHopRoundTrip, type RawMessage } from '../baselines/kafka.ts';
import type { GeneratorJob, GeneratorReply, Journey } from './generator.ts';
import { openLoop } from './load.ts';
import { percentiles } from './stats.ts';

/** One keep-alive pool per origin, unbounded: a long-poll holds a connection, and none may queue behind another. */
const agent = new Agent({
  connections: null,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
  // Long-polls wait up to 30 s; each request also has its own deadline (an AbortSignal).
  headersTimeout: 120_000,
  bodyTimeout: 120_000,
});

let users: { id: string; sub: string; token: string }[] = [];
let nextUser = 0;

/** The users in rotation, across jobs, so no user's card limit or long-poll slots come near. */
function userNext(): { id: string; sub: string; token: string } {
  nextUser += 1;
  const user = users[nextUser % users.length];
  if (!user) {
    throw new Error('no users: the generator was not given any');
  }
  return user;
}

const BODY = '{"color":"gold"}';
/** Cards followed at once, at most (a socket each); well below the open-file limit of this process and card-api's. */
const MAX_IN_FLIGHT = 6000;
const TERMINAL = new Set(['ACTIVE', 'FAILED']);

async function call(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 60_000,
): Promise<{ status: number; json: unknown }> {
  const answer = await agent.request({
    origin: url.origin,
    path: url.pathname,
    method,
    headers,
    body: body ?? null,
    signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
  });
  const text = await answer.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: answer.statusCode, json };
}

function cardOf(body: unknown): { id: string; status: string } | undefined {
  if (typeof body === 'object' && body !== null && 'id' in body && 'status' in body) {
    const { id, status } = body;
    if (typeof id === 'string' && typeof status === 'string') {
      return { id, status };
    }
  }
  return undefined;
}

/**
 * Ours: POST /v1/cards with `Prefer: wait`, which answers 200 with the terminal card, or 202 when the wait ran out;
 * then the card is long-polled until it is terminal or `deadline` passes. One request a card, as a client that
 * wants the outcome would ask. The synchronous design: POST /v1/cards answers 201 once the provider has answered.
 */
async function oneCard(
  apiUrl: string,
  design: 'ours' | 'sync',
  scheduledAt: number,
  jobStart: number,
  deadline: number,
): Promise<Journey> {
  const journey: Journey = {
    at: scheduledAt - jobStart,
    scheduledEpochMs: performance.timeOrigin + scheduledAt,
    pollErrors: 0,
  };
  const user = userNext();
  const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
  const waitSeconds = (): number =>
    Math.max(1, Math.min(30, Math.ceil((deadline - performance.now()) / 1000)));
  try {
    const accepted = await call(
      new URL('/v1/cards', apiUrl),
      'POST',
      design === 'ours' ? { ...headers, prefer: `wait=${waitSeconds()}` } : headers,
      BODY,
      Math.max(1000, deadline - performance.now()) + 5000,
    );
    const card = cardOf(accepted.json);
    const expected = design === 'ours' ? [200, 202] : [201];
    if (design === 'sync') {
      journey.acceptMs = performance.now() - scheduledAt;
    }
    if (!expected.includes(accepted.status) || !card) {
      journey.error = `POST answered ${accepted.status}`;
      return journey;
    }
    journey.cardId = card.id;
    journey.status = card.status;
    const cardUrl = new URL(`/v1/cards/${card.id}`, apiUrl);
    while (!TERMINAL.has(journey.status) && performance.now() < deadline) {
      const current = await call(
        cardUrl,
        'GET',
        { ...headers, prefer: `wait=${waitSeconds()}` },
        undefined,
        35_000,
      ).then(
        (polled) => (polled.status === 200 ? cardOf(polled.json) : `GET answered ${polled.status}`),
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      if (typeof current !== 'object') {
        journey.pollError ??= current;
        journey.pollErrors += 1;
        await sleep(100);
        continue;
      }
      journey.status = current.status;
    }
    if (TERMINAL.has(journey.status)) {
      journey.terminalMs = performance.now() - scheduledAt;
    }
  } catch (error) {
    journey.error =
      error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message) : String(error);
  }
  return journey;
}

async function runJob(job: GeneratorJob): Promise<GeneratorReply> {
  switch (job.kind) {
    case 'users':
      users = job.users;
      return { kind: 'users', count: users.length };
    case 'cards': {
      const start = performance.now();
      const deadline = start + (job.seconds + job.drainSeconds) * 1000;
      const pending: Promise<Journey>[] = [];
      let inFlight = 0;
      const apiUrls = typeof job.apiUrl === 'string' ? [job.apiUrl] : job.apiUrl;
      const { sent, lagMs } = await openLoop(job.rate, job.seconds, (index, scheduledAt) => {
        // Far past the knee, journeys pile up (each holds a socket here and in card-api): beyond a bound, a card is
        // counted as refused without being sent, so the file descriptors of neither process run out.
        if (inFlight >= MAX_IN_FLIGHT) {
          pending.push(
            Promise.resolve({
              at: scheduledAt - start,
              scheduledEpochMs: performance.timeOrigin + scheduledAt,
              pollErrors: 0,
              error: `not sent: ${MAX_IN_FLIGHT} cards in flight`,
            }),
          );
          return;
        }
        inFlight += 1;
        pending.push(
          oneCard(apiUrls[index % apiUrls.length] ?? '', job.design, scheduledAt, start, deadline).finally(
            () => {
              inFlight -= 1;
            },
          ),
        );
      });
      const journeys = await Promise.all(pending);
      return { kind: 'cards', sent, journeys, sendLagMs: percentiles(lagMs) };
    }
    case 'closed': {
      const latencies: number[] = [];
      let ok = 0;
      let errors = 0;
      const url = new URL('/v1/cards', job.url);
      const started = performance.now();
      const until = started + job.seconds * 1000;
      await Promise.all(
        Array.from({ length: job.concurrency }, async () => {
          while (performance.now() < until) {
            const user = userNext();
            const headers: Record<string, string> =
              job.auth === 'token'
                ? { 'content-type': 'application/json', authorization: `Bearer ${user.token}` }
                : { 'content-type': 'application/json', 'x-user-id': user.id, 'x-user-sub': user.sub };
            const sentAt = performance.now();
            try {
              const answer = await call(url, 'POST', headers, BODY, 30_000);
              if (answer.status >= 200 && answer.status < 300) {
                ok += 1;
                latencies.push(performance.now() - sentAt);
              } else {
                errors += 1;
              }
            } catch {
              errors += 1;
            }
          }
        }),
      );
      return {
        kind: 'closed',
        ok,
        errors,
        seconds: (performance.now() - started) / 1000,
        latencyMs: percentiles(latencies),
      };
    }
    case 'two-hop': {
      const outcome = await kafkaTwoHopRoundTrip({
        kafka: new Kafka({ clientId: job.clientId, brokers: job.brokers, logLevel: logLevel.ERROR }),
        topics: job.topics,
        groupPrefix: job.groupPrefix,
        rate: job.rate,
        seconds: job.seconds,
      });
      return {
        kind: 'two-hop',
        sent: outcome.sent,
        lost: outcome.lost,
        received: outcome.latenciesMs.length,
        latencyMs: percentiles(outcome.latenciesMs),
      };
    }
    case 'produce': {
      const client = new pg.Client({ connectionString: job.databaseUrl });
      await client.connect();
      let messages: RawMessage[];
      try {
        const result = await client.query<{
          event: Record<string, unknown> & { data: unknown; subject: string };
        }>(/* sql */ 'SELECT event FROM outbox ORDER BY id');
        // As the relay sends them (see encodeEvent in packages/contracts): data as value, attributes as headers.
        messages = result.rows.map(({ event }) => ({
          key: event.subject,
          value: JSON.stringify(event.data),
          headers: {
            ce_id: String(event['id']),
            ce_type: String(event['type']),
            ce_source: String(event['source']),
            ce_specversion: '1.0',
            ce_time: String(event['time']),
            ce_subject: event.subject,
            'content-type': 'application/json',
          },
        }));
      } finally {
        await client.end();
      }
      const seconds = await bareProducerSend({
        kafka: new Kafka({ clientId: job.clientId, brokers: job.brokers, logLevel: logLevel.ERROR }),
        topic: job.topic,
        messages,
        batchSize: job.batchSize,
      });
      return { kind: 'produce', rows: messages.length, seconds };
    }
  }
}

process.on('message', (message: { id: number; job: GeneratorJob }) => {
  runJob(message.job).then(
    (reply) => process.send?.({ id: message.id, reply }),
    (error: unknown) =>
      process.send?.({
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
process.on('disconnect', () => {
  void agent.close().finally(() => process.exit(0));
});
