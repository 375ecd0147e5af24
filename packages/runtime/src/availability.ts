/**
 * Whether an error says "a dependency is away" (the database, the broker, the network between) rather than "this
 * message or request is wrong". The difference decides where a consumed message goes: an availability error is
 * waited out, without limit, because the same message will succeed once the dependency is back; any other error is
 * counted against the message and, in the end, dead-letters it. Dead-lettering a healthy message because an outage
 * outlasted a retry budget would turn an outage into lost work, so when in doubt about the network, this says yes.
 */
export function isAvailabilityError(error: unknown): boolean {
  // Causes are followed (kafkajs wraps its last error, pg and undici wrap socket errors); the depth bound keeps a
  // cyclic chain from looping.
  // Duck-typed rather than `instanceof Error`: socket errors are made in Node's own realm, which a vm context (a
  // test runner's sandbox) does not share.
  let current: unknown = error;
  for (let depth = 0; depth < 8 && isErrorLike(current); depth++) {
    if (describesUnavailability(current)) {
      return true;
    }
    // A connect over several addresses (IPv4 and IPv6 of localhost) fails with an AggregateError of each.
    if (Array.isArray(current.errors) && current.errors.some((inner) => isAvailabilityError(inner))) {
      return true;
    }
    current = current.cause;
  }
  return false;
}

interface ErrorLike {
  name: string;
  message: string;
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/**
 * SQLSTATE classes of an unavailable database: 08 connection exception, 53 insufficient resources (too many
 * connections, disk full), 57P operator intervention (admin shutdown, crash shutdown, cannot connect now).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53)[0-9A-Z]{3}$|^57P[0-9A-Z]{2}$/;

/** Socket and resolver errors: the peer is not there, or the path to it is not. */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A container or host name that does not resolve is a peer that is not up yet (compose, a restarting pod).
  'ENOTFOUND',
]);

/**
 * node-postgres reports a lost or unobtainable connection with a bare Error and no code. These messages are its
 * own (pg, pg-pool) and stable across its releases.
 */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Query read timeout',
];

/** kafkajs errors that are unavailability whatever their `retriable` flag says (they end a retry loop). */
const KAFKAJS_UNAVAILABLE = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

function describesUnavailability(error: ErrorLike): boolean {
  const code = error.code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) {
    return true;
  }
  // knex's pool gave no connection within acquireConnectionTimeout: every connection is busy or none can be made.
  if (error.name === 'KnexTimeoutError') {
    return true;
  }
  if (error.name.startsWith('KafkaJS')) {
    // A retriable kafkajs error (broker not available, not leader, request timed out, connection lost) is the
    // cluster being away or moving; a non-retriable one (message too large, invalid record) is the message's.
    return error.retriable === true || KAFKAJS_UNAVAILABLE.has(error.name);
  }
  return PG_CONNECTION_MESSAGES.some((message) => error.message.startsWith(message));
}
