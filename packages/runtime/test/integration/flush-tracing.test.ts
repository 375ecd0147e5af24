import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A process about to exit flushes its spans. A batch the span processor's timer handed to the OTLP exporter a moment
 * before is no longer in the processor's buffer: the flush must also wait for that send, or the process exits in the
 * middle of it and the spans never reach the collector (the correlation test lost the worker's span so). A process
 * of its own, running the built package, as a service does: the OTLP exporter loads its HTTP transport with a dynamic
 * import, which jest's module sandbox refuses.
 */
describe('flushTracing in a process about to exit', () => {
  const answerDelayMs = 500;
  let collector: Server;
  const answeredAt: number[] = [];

  beforeAll(async () => {
    // A collector that takes its time to answer, as one under load does.
    collector = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        setTimeout(() => {
          answeredAt.push(Date.now());
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }, answerDelayMs);
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
  });

  it('when the timer already sent the last spans and the collector has not answered, then the process waits for the answer before it exits', async () => {
    const { port } = collector.address() as AddressInfo;
    const tracing = path.resolve(__dirname, '../../dist/tracing.js');
    // Ends a span, lets the processor's timer send it, then flushes and exits at once, as a stopping service does.
    const script = `
      const { configureTracing, flushTracing, startSpan } = require(${JSON.stringify(tracing)});
      configureTracing({ exporter: 'otlp', serviceName: 'flush-test' });
      startSpan('last work').end();
      setTimeout(() => flushTracing(5000).then(() => process.exit(0)), 200);
    `;
    await run(process.execPath, ['-e', script], {
      env: {
        ...process.env,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
      timeout: 20_000,
    });
    const exitedAt = Date.now();

    expect(answeredAt).toHaveLength(1);
    expect(answeredAt[0]).toBeLessThanOrEqual(exitedAt);
  }, 30_000);
});
