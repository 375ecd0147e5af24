// @cards/messaging is the Kafka port: the only package of the project that imports kafkajs (a lint rule enforces
// it), so another client would drop in here.
export * from './admin';
export * from './client';
export * from './consumer';
export * from './consumer-metrics';
export * from './dead-letters';
export * from './delivery';
export * from './error-policy';
export * from './lag';
export * from './publisher';
export * from './topic-reader';
