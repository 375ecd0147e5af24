import type { RunningConsumer } from '@cards/messaging';
import type { Logger } from '@cards/runtime';

import type { CircuitBreaker, CircuitState } from '../../data-access/circuit-breaker';

/**
 * Pauses the commands consumer while the provider's circuit is open, so that an outage costs no card its budget
 * and the provider is not hammered: commands stay in Kafka, and those already in hand wait (deferred). After
 * `halfOpenAfterMs` consumption resumes, so a call arrives to probe the provider (cockatiel half-opens only when
 * called); the probe closes the circuit (consumption goes on) or opens it again (paused again). Returns the
 * function that stops watching.
 */
export function pauseWhileCircuitOpen(options: {
  breaker: Pick<CircuitBreaker, 'state' | 'onStateChange'>;
  consumer: Pick<RunningConsumer, 'pause' | 'resume'>;
  halfOpenAfterMs: number;
  logger: Logger;
}): () => void {
  const { consumer, logger } = options;
  let probeDue: NodeJS.Timeout | undefined;

  const onState = (state: CircuitState): void => {
    clearTimeout(probeDue);
    probeDue = undefined;
    switch (state) {
      case 'open':
        consumer.pause();
        logger.warn(
          { resumeInMs: options.halfOpenAfterMs },
          'provider circuit open: consumption paused, commands in hand wait',
        );
        probeDue = setTimeout(() => {
          probeDue = undefined;
          logger.info('provider circuit may half-open: consumption resumed to probe the provider');
          consumer.resume();
        }, options.halfOpenAfterMs);
        return;
      case 'closed':
        logger.info('provider circuit closed: consumption resumed');
        consumer.resume();
        return;
      case 'half-open':
        // Consumption was resumed for the probe already; the probe decides what comes next.
        return;
    }
  };

  const unsubscribe = options.breaker.onStateChange(onState);
  if (options.breaker.state === 'open') {
    onState('open');
  }
  return () => {
    clearTimeout(probeDue);
    unsubscribe();
  };
}
