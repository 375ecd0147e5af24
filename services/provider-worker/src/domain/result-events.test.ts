import { randomUUID } from 'node:crypto';

import { EventType } from '@cards/contracts';
import { z } from 'zod';

import { resultEventId } from './result-events';

describe('resultEventId', () => {
  it('when derived twice from the same command and result type, then it is the same', () => {
    const commandId = randomUUID();

    expect(resultEventId(commandId, EventType.provisioned)).toBe(
      resultEventId(commandId, EventType.provisioned),
    );
  });

  it('when the command or the result type differs, then the id differs', () => {
    const commandId = randomUUID();

    const ids = new Set([
      resultEventId(commandId, EventType.provisioned),
      resultEventId(commandId, EventType.provisioningFailed),
      resultEventId(randomUUID(), EventType.provisioned),
    ]);

    expect(ids.size).toBe(3);
  });

  it('when two results of one command name different provider cards, then their ids differ (neither is a duplicate)', () => {
    const commandId = randomUUID();

    expect(resultEventId(commandId, EventType.provisioned, 'pc_first')).not.toBe(
      resultEventId(commandId, EventType.provisioned, 'pc_second'),
    );
    expect(resultEventId(commandId, EventType.provisioned, 'pc_first')).toBe(
      resultEventId(commandId, EventType.provisioned, 'pc_first'),
    );
  });

  it('when derived, then it is a valid version 8 UUID', () => {
    const id = resultEventId('any-command-id', EventType.cancelled);

    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('when the input is fixed, then the id is fixed (a change would break deduplication across releases)', () => {
    expect(resultEventId('00000000-0000-4000-8000-000000000000', EventType.provisioned)).toBe(
      '218ddf38-3805-8d98-aa35-10fd9704286a',
    );
  });
});
