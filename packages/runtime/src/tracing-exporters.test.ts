import { configureTracing, flushTracing, startSpan } from './tracing';

/** The exporters a process can choose, each flushed on the way out (the OTLP send itself: flush-tracing.test.ts). */
describe('tracing exporters', () => {
  it('when tracing was never configured, then a flush does nothing and resolves', async () => {
    await expect(flushTracing()).resolves.toBeUndefined();
  });

  it('when spans go to the console, then an ended span is written at once and a flush resolves', async () => {
    const written = jest.spyOn(console, 'dir').mockImplementation(() => undefined);
    try {
      configureTracing({ exporter: 'console', serviceName: 'exporters-test' });
      startSpan('to the console').end();
      await flushTracing();
      expect(written).toHaveBeenCalledWith(
        expect.objectContaining({ name: 'to the console' }),
        expect.anything(),
      );
    } finally {
      written.mockRestore();
    }
  });

  it('when spans go to an OTLP collector and none are waiting, then a flush resolves at once', async () => {
    configureTracing({ exporter: 'otlp', serviceName: 'exporters-test' });
    await expect(flushTracing(1000)).resolves.toBeUndefined();
  });

  it('when spans go nowhere, then a flush resolves', async () => {
    configureTracing({ exporter: 'none', serviceName: 'exporters-test' });
    startSpan('dropped').end();
    await expect(flushTracing()).resolves.toBeUndefined();
  });
});
