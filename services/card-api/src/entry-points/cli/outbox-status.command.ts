import type { AdvisoryLockHolder, OutboxStatusFigures } from '../../data-access/outbox.repository';
import type { Out } from './dlq.commands';
import { token } from './topics-tail.command';

/** What `outbox status` reads: the outbox's figures, and who holds the relay lock. */
export interface OutboxStatusDeps {
  figures(): Promise<OutboxStatusFigures>;
  relayHolder(): Promise<AdvisoryLockHolder | undefined>;
}

/** The outbox as an operator sees it. */
export interface OutboxStatus extends OutboxStatusFigures {
  /** The session of the active relay; null when none holds the lock (no relay runs, or none is connected). */
  relay: AdvisoryLockHolder | null;
}

/** An age as people say it: 42.1 s, 3 min 5 s, 2 h 7 min. */
export function formatAge(seconds: number): string {
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const whole = Math.floor(seconds);
  if (whole < 3600) {
    return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  }
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

/** The status as lines: backlog, oldest, failing, throughput, relay. */
export function formatOutboxStatus(status: OutboxStatus): string[] {
  const oldest =
    status.oldestCreatedAt === null
      ? 'oldest unpublished: -'
      : `oldest unpublished: ${status.oldestCreatedAt.toISOString()} (${formatAge(status.oldestAgeSeconds ?? 0)} ago)`;
  const first = status.firstFailing;
  const failing =
    first === null
      ? `failing: ${status.failing} row(s) with a publish error`
      : `failing: ${status.failing} row(s) with a publish error; first id=${first.id} type=${token(first.type)} ` +
        `key=${token(first.key)} attempts=${first.attempts} error=${JSON.stringify(first.lastError)}`;
  const relay = status.relay;
  return [
    `backlog: ${status.pending} unpublished row(s)`,
    oldest,
    failing,
    status.quarantined === 0
      ? 'quarantined: 0 row(s)'
      : `quarantined: ${status.quarantined} row(s), set aside until released (outbox quarantined)`,
    `published in the last minute: ${status.publishedLastMinute}`,
    relay === null
      ? 'relay: none (no relay is running)'
      : `relay: pid=${relay.pid} application_name=${token(relay.applicationName || null)} ` +
        `client_addr=${token(relay.clientAddr)} backend_start=${relay.backendStart?.toISOString() ?? '-'} ` +
        `state=${token(relay.state)}`,
  ];
}

/** The status as one JSON document (`--json`). */
export function outboxStatusJson(status: OutboxStatus): string {
  return JSON.stringify({
    pending: status.pending,
    oldestCreatedAt: status.oldestCreatedAt?.toISOString() ?? null,
    oldestAgeSeconds: status.oldestAgeSeconds,
    failing: status.failing,
    firstFailing: status.firstFailing && {
      ...status.firstFailing,
      createdAt: status.firstFailing.createdAt.toISOString(),
    },
    quarantined: status.quarantined,
    publishedLastMinute: status.publishedLastMinute,
    relay: status.relay && {
      ...status.relay,
      backendStart: status.relay.backendStart?.toISOString() ?? null,
    },
  });
}

/** `outbox status [--json]`: what waits to be published, what fails, and which relay is active. */
export async function outboxStatusCommand(options: {
  deps: OutboxStatusDeps;
  json?: boolean;
  out: Out;
}): Promise<OutboxStatus> {
  const [figures, holder] = await Promise.all([options.deps.figures(), options.deps.relayHolder()]);
  const status: OutboxStatus = { ...figures, relay: holder ?? null };
  if (options.json) {
    options.out(outboxStatusJson(status));
  } else {
    formatOutboxStatus(status).forEach((line) => {
      options.out(line);
    });
  }
  return status;
}
