import { randomBytes, randomUUID } from 'node:crypto';

import { CardSchema } from '@cards/contracts';

import { startLoggedSaga, type LoggedSaga } from '../support/logged-saga';
import { OtlpReceiver } from '../support/otlp-receiver';
import { readWholeTopics, type RawMessage } from '../support/topic-contents';

/**
 * One request id and one trace across the whole saga: the HTTP request, the outbox event, the Kafka headers, the
 * worker, the provider call, the result and the consumer. An operator greps the logs for the request id a client
 * quotes and sees every step of that card, in every process.
 */
describe('correlation across HTTP, the outbox, Kafka, the worker and the provider', () => {
  const requestId = `req-${randomUUID()}`;
  const traceId = randomBytes(16).toString('hex');
  const incomingTraceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
  let saga: LoggedSaga;
  let cardId: string;
  let echoedRequestId: string | null;
  let finalStatus: string;
  let logs: Record<string, string>;
  let messages: RawMessage[];
  const collector = new OtlpReceiver();

  beforeAll(async () => {
    // Every process exports its spans to a collector over OTLP, as they would to Jaeger in docker-compose.
    const tracesEndpoint = await collector.start();
    saga = await startLoggedSaga('correlation', {
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: tracesEndpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
    const user = await saga.createUser();
    const created = await saga.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      headers: { 'x-request-id': requestId, traceparent: incomingTraceparent },
      body: JSON.stringify({ color: 'gold' }),
    });
    echoedRequestId = created.headers.get('x-request-id');
    cardId = CardSchema.parse(JSON.parse(created.body)).id;
    const polled = await saga.request(`/v1/cards/${cardId}`, {
      token: user.token,
      headers: { prefer: 'wait=20' },
    });
    finalStatus = CardSchema.parse(JSON.parse(polled.body)).status;
    logs = await saga.stopProcesses();
    messages = await readWholeTopics([saga.topics.commands, saga.topics.results]);
  }, 120_000);

  afterAll(async () => {
    await saga.stop();
    await collector.stop();
  });

  /** The log lines of one process that name the request id. */
  function linesWithRequestId(process: string): string[] {
    const [, text = ''] = Object.entries(logs).find(([file]) => file.includes(process)) ?? [];
    return text.split('\n').filter((line) => line.includes(requestId));
  }

  it('when the card was requested, then the answer echoed the request id and the saga ended ACTIVE', () => {
    expect({ echoedRequestId, finalStatus }).toEqual({ echoedRequestId: requestId, finalStatus: 'ACTIVE' });
  });

  it('when one card’s saga ran, then its request id is in the log of every process that touched it', () => {
    const seen = Object.fromEntries(
      ['card-api', 'outbox-relay', 'provider-worker', 'mock-provider', 'card-events-consumer'].map(
        (process) => [process, linesWithRequestId(process).length > 0],
      ),
    );
    expect(seen).toEqual({
      'card-api': true,
      'outbox-relay': true,
      'provider-worker': true,
      'mock-provider': true,
      'card-events-consumer': true,
    });
  });

  it('when the lines with the request id are read, then they tell the saga step by step', () => {
    const messagesOf = (process: string): string[] =>
      linesWithRequestId(process).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messagesOf('card-api').some((message) => message.startsWith('POST /v1/cards 202'))).toBe(true);
    expect(messagesOf('outbox-relay')).toContain('event published');
    expect(messagesOf('provider-worker')).toEqual(
      expect.arrayContaining(['card provisioned', 'event published']),
    );
    expect(messagesOf('mock-provider').some((message) => message.startsWith('POST /v1/cards 201'))).toBe(
      true,
    );
    expect(messagesOf('card-events-consumer')).toContain('result applied');
  });

  it('when the command and the result are read from Kafka, then both carry the request id and continue the caller’s trace', () => {
    const ofCard = messages.filter((message) => message.key === cardId);
    expect(ofCard.map((message) => message.headers['ce_type']).sort()).toEqual([
      'card.provision.requested',
      'card.provisioned',
    ]);
    for (const message of ofCard) {
      expect(message.headers['correlation-id']).toBe(requestId);
      expect(message.headers['traceparent']).toMatch(new RegExp(`^00-${traceId}-[\\da-f]{16}-01$`));
    }
    // Each hop is a span of its own: the worker's result does not reuse the API's span id.
    expect(new Set(ofCard.map((message) => message.headers['traceparent'])).size).toBe(2);
  });

  it('when a process logged about the request, then its lines carry the caller’s trace id too', () => {
    for (const process of ['card-api', 'card-events-consumer']) {
      expect({ process, traced: linesWithRequestId(process).some((line) => line.includes(traceId)) }).toEqual(
        {
          process,
          traced: true,
        },
      );
    }
  });

  it('when the processes export traces over OTLP, then the card’s spans reach the collector as one trace, from each process that worked on it', () => {
    const ofTrace = collector.spans.filter((span) => span.traceId === traceId);

    expect(new Set(ofTrace.map((span) => span.service))).toEqual(
      new Set(['card-api', 'provider-worker', 'card-events-consumer']),
    );
    expect(ofTrace).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'card-api', name: 'POST request' }),
        expect.objectContaining({ service: 'provider-worker', name: 'card.provision.requested' }),
        expect.objectContaining({ service: 'card-events-consumer', name: 'card.provisioned' }),
      ]),
    );
    // Each hop continues the one before it: every span but the caller's first has a parent inside the trace.
    const spanIds = new Set(ofTrace.map((span) => span.spanId));
    const callerSpanId = incomingTraceparent.split('-')[2];
    for (const span of ofTrace) {
      expect(span.parentSpanId === callerSpanId || spanIds.has(span.parentSpanId ?? '')).toBe(true);
    }
  });
});
