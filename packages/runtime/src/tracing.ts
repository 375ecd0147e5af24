import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

import { withTimeout } from './timeouts';

/**
 * Where finished spans go: nowhere (the default); the console, for a developer following one trace; or an OTLP
 * collector over HTTP (Jaeger, the OpenTelemetry Collector), configured by the standard `OTEL_EXPORTER_OTLP_*`
 * variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `…_HEADERS`, `…_TIMEOUT`).
 */
export type TraceExporter = 'none' | 'console' | 'otlp';

let configured:
  | { exporter: TraceExporter; provider: BasicTracerProvider; spanExporter: SpanExporter | undefined }
  | undefined;

/** The exporter finished spans go to: none (the default), the console, or an OTLP collector. */
function spanExporterFor(exporter: TraceExporter): SpanExporter | undefined {
  switch (exporter) {
    case 'none':
      return undefined;
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp':
      // Reads the OTEL_EXPORTER_OTLP_* variables itself.
      return new OTLPTraceExporter();
  }
}

function spanProcessorsFor(exporter: TraceExporter, spanExporter: SpanExporter | undefined): SpanProcessor[] {
  if (!spanExporter) {
    return [];
  }
  // OTLP batched and sent off the hot path; the console at once, for a developer following one trace.
  return [exporter === 'otlp' ? new BatchSpanProcessor(spanExporter) : new SimpleSpanProcessor(spanExporter)];
}

/**
 * Installs the OpenTelemetry SDK's tracer (ids, sampling) and the W3C trace-context propagator, once per process.
 * Spans are exported only when asked (`OTEL_TRACES_EXPORTER=console|otlp`); otherwise tracing costs an id per unit
 * of work and gives every log line and message a `traceparent` that a collector could join up later. Spans carry
 * `service.name`: `OTEL_SERVICE_NAME` when set, else the process's name.
 */
export function configureTracing(options: { exporter?: TraceExporter; serviceName?: string } = {}): void {
  const exporter = options.exporter ?? 'none';
  if (configured && (configured.exporter === exporter || options.exporter === undefined)) {
    return;
  }
  const serviceName = process.env['OTEL_SERVICE_NAME'] ?? options.serviceName ?? 'card-issuing';
  const spanExporter = spanExporterFor(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: spanProcessorsFor(exporter, spanExporter),
  });
  trace.disable();
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  configured = { exporter, provider, spanExporter };
}

/**
 * Sends the spans still buffered (an OTLP batch), for a process that is about to exit, and waits for the sends
 * already under way: the batch processor's flush sends only what its buffer holds, not a batch its timer handed to
 * the exporter a moment before, which the exporter's own flush waits for. Bounded, and never a failure: a collector
 * that is away must not hold a shutdown past its budget or make a clean stop exit non-zero.
 */
export async function flushTracing(timeoutMs = 2000): Promise<void> {
  if (configured) {
    const { provider, spanExporter } = configured;
    const flushed = provider.forceFlush().then(() => spanExporter?.forceFlush?.());
    await withTimeout(flushed, timeoutMs).catch(() => undefined);
  }
}

/** One unit of work in a trace: its W3C `traceparent` (to pass on) and trace id (to log), and how to end it. */
export interface TraceSpan {
  traceparent: string;
  traceId: string;
  end(): void;
}

const W3C_TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/**
 * Starts a span that continues the trace of `parent` (a W3C traceparent from an HTTP header or a Kafka message),
 * or starts a new trace when there is none or it is malformed (a tracing hint is dropped, never refused).
 */
export function startSpan(name: string, parent?: string): TraceSpan {
  configureTracing();
  const carrier: Record<string, string> =
    parent !== undefined && W3C_TRACEPARENT.test(parent) ? { traceparent: parent } : {};
  const parentContext = propagation.extract(context.active(), carrier);
  const span: Span = trace.getTracer('card-issuing').startSpan(name, {}, parentContext);
  const outgoing: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), outgoing);
  return {
    traceparent: outgoing['traceparent'] ?? '',
    traceId: span.spanContext().traceId,
    end: () => {
      span.end();
    },
  };
}

/** Runs `work` inside a span continuing `parent`, giving it the span's traceparent; the span ends with the work. */
export async function inSpan<T>(
  name: string,
  parent: string | undefined,
  work: (span: TraceSpan) => Promise<T>,
): Promise<T> {
  const span = startSpan(name, parent);
  try {
    return await work(span);
  } finally {
    span.end();
  }
}
