import { startSpan } from './tracing';

describe('tracing', () => {
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('when a span continues a W3C traceparent, then it keeps the trace id and gets a span id of its own', () => {
    const span = startSpan('child', parent);
    span.end();
    expect(span.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[\da-f]{16}-01$/);
    expect(span.traceparent).not.toBe(parent);
  });

  it('when there is no parent or it is malformed, then a new trace starts', () => {
    for (const malformed of [
      undefined,
      'garbage',
      `${parent}-extra`,
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
    ]) {
      const span = startSpan('root', malformed);
      span.end();
      expect(span.traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-01$/);
      expect(span.traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
      expect(span.traceId).not.toMatch(/^0+$/);
    }
  });

  it('when two spans start without a parent, then they belong to two traces', () => {
    const first = startSpan('a');
    const second = startSpan('b');
    expect(first.traceId).not.toBe(second.traceId);
  });
});
