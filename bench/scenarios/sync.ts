/**
 * Scenario 4: the seed's synchronous design against ours, with a slow provider. The same closed loop drives both:
 * `concurrency` clients that each want a card and ask for the next as soon as they have one. Ours answers at once
 * and the client long-polls until the card is terminal; the synchronous server answers when the provider has.
 */
import { performance } from 'node:perf_hooks';

import { call } from '../lib/http-client.ts';
import { closedLoop, requestCardAndWait } from '../lib/load.ts';
import { freePort, startProcess } from '../lib/processes.ts';
import type { ClosedLoopCards, SyncResult } from '../lib/results.ts';
import { ALL_SERVICES, STACK_SETTINGS } from '../lib/stack.ts';
import { percentiles } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

interface Sample {
  acceptMs?: number;
  terminalMs?: number;
  error?: string;
}

function summarise(ctx: ScenarioContext, label: string, samples: Sample[], seconds: number): ClosedLoopCards {
  const completed = samples.filter((sample) => sample.terminalMs !== undefined);
  const errors = samples.filter((sample) => sample.error !== undefined).length;
  const result: ClosedLoopCards = {
    cardsPerSecond: Math.round((completed.length / seconds) * 10) / 10,
    completed: completed.length,
    errors,
    acceptMs: percentiles(
      samples.flatMap((sample) => (sample.acceptMs === undefined ? [] : [sample.acceptMs])),
    ),
    terminalMs: percentiles(completed.map((sample) => sample.terminalMs ?? 0)),
  };
  ctx.log(
    `sync comparison, ${label}: ${result.cardsPerSecond} cards/s, terminal p50 ${result.terminalMs.p50} ms`,
  );
  // Only a design that completes nothing fails the run; errors under load are reported in the table.
  if (completed.length === 0) {
    ctx.failures.push(`sync comparison (${label}): ${completed.length} cards completed, ${errors} errors`);
  }
  return result;
}

export async function syncScenario(ctx: ScenarioContext): Promise<SyncResult> {
  const { stack, users, profile } = ctx;
  const {
    syncConcurrency: concurrency,
    syncSeconds: seconds,
    syncProviderLatencyMs: providerLatencyMs,
  } = profile;
  await stack.start(ALL_SERVICES);
  await stack.setProviderLatency(providerLatencyMs);
  let index = 0;
  const nextUser = () => users[index++ % users.length] ?? users[0];

  const oursSamples: Sample[] = [];
  const api = stack.url('card-api');
  await closedLoop(concurrency, seconds, async () => {
    const startedAt = performance.now();
    const journey = await requestCardAndWait(api, nextUser()?.token ?? '', startedAt, startedAt + 60_000);
    oursSamples.push({
      ...(journey.acceptedAt !== undefined && { acceptMs: journey.acceptedAt - startedAt }),
      ...(journey.terminalAt !== undefined && { terminalMs: journey.terminalAt - startedAt }),
      ...(journey.error !== undefined && { error: journey.error }),
    });
  });
  const ours = summarise(ctx, 'ours', oursSamples, seconds);

  const port = await freePort();
  const server = await startProcess({
    name: 'sync-card-server',
    script: 'bench/baselines/sync-card-server.ts',
    env: {
      PORT: String(port),
      DATABASE_URL: stack.info.databaseUrl,
      POOL_MAX: String(STACK_SETTINGS.poolMax),
      PROVIDER_URL: stack.url('mock-provider'),
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
  });
  const syncSamples: Sample[] = [];
  try {
    await closedLoop(concurrency, seconds, async () => {
      const startedAt = performance.now();
      try {
        const answer = await call(`http://127.0.0.1:${port}/v1/cards`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': nextUser()?.id ?? '' },
          body: '{"color":"gold"}',
        });
        const elapsed = performance.now() - startedAt;
        syncSamples.push(
          answer.status === 201
            ? { acceptMs: elapsed, terminalMs: elapsed }
            : { error: `POST answered ${answer.status}` },
        );
      } catch (error) {
        syncSamples.push({ error: error instanceof Error ? error.message : String(error) });
      }
    });
  } finally {
    await server.stop();
  }
  const synchronous = summarise(ctx, 'synchronous', syncSamples, seconds);
  await stack.setProviderLatency(0);
  return { providerLatencyMs, concurrency, seconds, ours, synchronous };
}
