import type { AnyCardEvent } from '@cards/contracts';

/** Where a use case's result events go (the Kafka publisher in production). */
export interface ResultPublisher {
  /** Resolves once every event is durably accepted; rejects when any is not. */
  publish(events: readonly AnyCardEvent[]): Promise<void>;
}

/** A structured log, as much of one as the use cases need (pino's Logger in production). */
export interface UseCaseLog {
  child(bindings: Record<string, unknown>): UseCaseLog;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}
