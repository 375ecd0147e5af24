import { DeadLetterHeaders, type KafkaClient, type KafkaEventPublisher } from '@cards/messaging';

import {
  deadLetterSummary,
  readDeadLetters,
  sendBack,
  topicPair,
  type DeadLetter,
} from '../../data-access/dead-letters';
import { OPS_CLI_ACTOR, type AuditLog } from '../../domain/audit';
import { replayDeadLetters, selectDeadLetters, type ReplaySelection } from '../../domain/replay-dead-letters';
import { asCliError } from './cli-errors';
import { goAhead, type Confirm } from './confirmation';

export { headerStrings, topicPair, type DeadLetter } from '../../data-access/dead-letters';

/** Where a command writes its output, one line per call (stdout in the CLI, an array in tests). */
export type Out = (line: string) => void;

/** One human-readable line per dead letter; the reason comes last (and quoted), as it is the longest. */
export function formatDeadLetter(letter: DeadLetter): string {
  return [
    `partition=${letter.partition}`,
    `offset=${letter.offset}`,
    `key=${letter.key ?? '-'}`,
    `ce_id=${letter.ceId ?? '-'}`,
    `ce_type=${letter.ceType ?? '-'}`,
    `dlq-attempts=${letter.attempts ?? '-'}`,
    `dlq-failed-at=${letter.failedAt ?? '-'}`,
    `dlq-reason=${JSON.stringify(letter.reason ?? '')}`,
  ].join(' ');
}

/** Where a dead letter is and what it holds, in one line. */
function describeLetter(letter: DeadLetter): string {
  return (
    `partition=${letter.partition} offset=${letter.offset} key=${letter.key ?? '-'} ` +
    `ce_id=${letter.ceId ?? '-'} ce_type=${letter.ceType ?? '-'}`
  );
}

/** One JSON document per dead letter (`--json`), for scripts. */
export function deadLetterJson(letter: DeadLetter): string {
  return JSON.stringify({
    ...deadLetterSummary(letter),
    sourceTopic: letter.headers[DeadLetterHeaders.sourceTopic] ?? null,
    sourcePartition: letter.headers[DeadLetterHeaders.sourcePartition] ?? null,
    sourceOffset: letter.headers[DeadLetterHeaders.sourceOffset] ?? null,
    consumerGroup: letter.headers[DeadLetterHeaders.consumerGroup] ?? null,
    headers: letter.headers,
    value: letter.value,
  });
}

/**
 * `dlq list <topic>`: prints every dead letter of `<topic>.dlq` up to its current end; with `card`, only that card's
 * (its id is every event's key).
 */
export async function dlqList(options: {
  kafka: KafkaClient;
  topic: string;
  card?: string | undefined;
  json?: boolean;
  out: Out;
  timeoutMs?: number;
}): Promise<DeadLetter[]> {
  const letters = (
    await readDeadLetters(options.kafka, options.topic, {
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    })
  ).filter((letter) => options.card === undefined || letter.key === options.card);
  for (const letter of letters) {
    options.out(options.json ? deadLetterJson(letter) : formatDeadLetter(letter));
  }
  if (!options.json) {
    const ofCard = options.card === undefined ? '' : ` of card ${options.card}`;
    options.out(`# ${letters.length} dead letter(s)${ofCard} on ${topicPair(options.topic).dlq}`);
  }
  return letters;
}

/**
 * `dlq replay <topic>`: re-publishes dead letters to `<topic>` as they first arrived (value, key and original
 * headers, the dlq-* ones removed), in their order, and prints each; the same use case as the admin API's replay,
 * with the audit row naming the CLI.
 */
export async function dlqReplay(options: {
  kafka: KafkaClient;
  topic: string;
  selection: ReplaySelection;
  /** Print what would be replayed, and change nothing. */
  dryRun?: boolean;
  /** One JSON document per letter (would be) replayed, and no comment lines, for scripts. */
  json?: boolean;
  /**
   * Asked before anything is published, with what would be; the replay goes ahead only when it answers true. Not
   * given: the command line had no way to ask (no terminal) and no --yes, so nothing is replayed.
   */
  confirm: Confirm | undefined;
  audit: AuditLog;
  /** Told when the audit row cannot be written after the replay (see replayDeadLetters); thrown when not given. */
  auditNotWritten?: (error: unknown) => void;
  out: Out;
  publisher?: KafkaEventPublisher;
  timeoutMs?: number;
}): Promise<DeadLetter[]> {
  const pair = topicPair(options.topic);
  const chosen = await readDeadLetters(options.kafka, pair.dlq, {
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  })
    .then((letters) => selectDeadLetters(letters, options.selection, pair.dlq))
    .catch((error: unknown) => {
      throw asCliError(error);
    });
  // With --json only the documents go to stdout: comment lines would break a `jq` downstream.
  const comment = (line: string): void => {
    if (!options.json) {
      options.out(line);
    }
  };
  if (chosen.length === 0) {
    comment(`# nothing to replay: ${pair.dlq} is empty`);
    return [];
  }
  if (options.dryRun) {
    for (const letter of chosen) {
      options.out(
        options.json
          ? JSON.stringify({ ...deadLetterSummary(letter), replayTo: pair.topic, dryRun: true })
          : `would replay ${describeLetter(letter)} to ${pair.topic}`,
      );
    }
  }
  const change = `replay ${chosen.length} dead letter(s) from ${pair.dlq} to ${pair.topic}`;
  if (!(await goAhead({ command: 'dlq replay', change, ...options, out: comment }))) {
    return [];
  }
  const { topic, dlq, replayed } = await replayDeadLetters(
    { topic: options.topic, selection: options.selection },
    OPS_CLI_ACTOR,
    {
      // The letters read above, which the operator saw and confirmed: the topic is not read a second time.
      deadLetters: {
        replay: () =>
          sendBack({
            kafka: options.kafka,
            topic: pair.topic,
            dlq: pair.dlq,
            letters: chosen,
            ...(options.publisher && { publisher: options.publisher }),
          }),
      },
      audit: options.audit,
      ...(options.auditNotWritten && { auditNotWritten: options.auditNotWritten }),
    },
  ).catch((error: unknown) => {
    throw asCliError(error);
  });
  if (replayed.length === 0) {
    comment(`# nothing to replay: ${dlq} is empty`);
    return [];
  }
  for (const letter of replayed) {
    options.out(
      options.json
        ? JSON.stringify({ ...deadLetterSummary(letter), replayedTo: topic })
        : `replayed ${describeLetter(letter)} to ${topic}`,
    );
  }
  comment(`# ${replayed.length} message(s) replayed from ${dlq} to ${topic}`);
  return replayed;
}
