// The Kafka port: the only folder of the project that imports kafkajs (a lint rule enforces it).
export * from './admin';
export * from './client';
export * from './consumer';
export * from './dead-letters';
export * from './delivery';
export * from './lag';
export * from './publisher';
export * from './topic-reader';
