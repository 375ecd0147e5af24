import net from 'node:net';

import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { knex } from 'knex';
import { DatabaseError } from 'pg';

import { isAvailabilityError } from './availability';

function sqlError(code: string): DatabaseError {
  const error = new DatabaseError('server says no', 0, 'error');
  error.code = code;
  return error;
}

/** A real refused connection: a port that was listening a moment ago and is closed now. */
async function refusedConnection(): Promise<Error> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return new Promise((resolve) => {
    net.connect(port, '127.0.0.1').on('error', resolve);
  });
}

describe('isAvailabilityError', () => {
  it.each([
    ['08006 connection failure', '08006'],
    ['08001 cannot establish a connection', '08001'],
    ['53300 too many connections', '53300'],
    ['53100 disk full', '53100'],
    ['57P01 admin shutdown (a failover)', '57P01'],
    ['57P03 cannot connect now (starting up)', '57P03'],
  ])('when PostgreSQL answers %s, then it is availability', (_name, code) => {
    expect(isAvailabilityError(sqlError(code))).toBe(true);
  });

  it.each([
    ['23505 unique violation', '23505'],
    ['22P02 invalid text representation', '22P02'],
    ['57014 statement cancelled (a slow query, not an absent database)', '57014'],
    ['40001 serialization failure', '40001'],
  ])('when PostgreSQL answers %s, then it is not', (_name, code) => {
    expect(isAvailabilityError(sqlError(code))).toBe(false);
  });

  it('when a connection is refused, then it is availability', async () => {
    const error = await refusedConnection();

    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isAvailabilityError(error)).toBe(true);
  });

  it('when node-postgres loses its connection (a bare Error with its own message), then it is availability', () => {
    expect(isAvailabilityError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isAvailabilityError(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it("when knex's pool gives no connection in time, then it is availability", async () => {
    const db = knex({
      client: 'pg',
      // Nothing listens on port 1: every connection attempt fails, so the acquire times out.
      connection: { host: '127.0.0.1', port: 1, user: 'nobody', connectionTimeoutMillis: 50 },
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 300,
    });
    try {
      const error: unknown = await db.raw('SELECT 1').catch((caught: unknown) => caught);

      expect(isAvailabilityError(error)).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('when the broker is away (connection error, request timeout, retries exhausted), then it is availability', () => {
    const lost = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    const timedOut = new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out');
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(lost, { retryCount: 5, retryTime: 3000 });
    const notLeader = new KafkaJSProtocolError({
      message: 'This server is not the leader for that topic-partition',
      type: 'NOT_LEADER_FOR_PARTITION',
      code: 6,
      retriable: true,
    } as unknown as Error);

    expect([lost, timedOut, gaveUp, notLeader].map(isAvailabilityError)).toEqual([true, true, true, true]);
  });

  it('when the broker refuses the message itself (too large), then it is not availability', () => {
    const tooLarge = new KafkaJSProtocolError({
      message: 'The request included a message larger than the max message size the server will accept',
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
    } as unknown as Error);

    expect(isAvailabilityError(tooLarge)).toBe(false);
  });

  it('when the availability error is the cause of another, then the wrapper is availability too', () => {
    const wrapped = new Error('result not applied', { cause: sqlError('57P01') });

    expect(isAvailabilityError(wrapped)).toBe(true);
  });

  it('when an error is about the message (a broken rule, a bad value, not an Error), then it is not', () => {
    expect(isAvailabilityError(new Error('card 42 is not PENDING'))).toBe(false);
    expect(isAvailabilityError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
    expect(isAvailabilityError('ECONNREFUSED')).toBe(false);
    expect(isAvailabilityError(undefined)).toBe(false);
  });
});
