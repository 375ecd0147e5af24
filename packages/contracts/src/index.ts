export * from './cards';
export * from './error-codes';
export * from './events';
export * from './openapi';
export * from './problem';
export * from './provider';
export * from './topics';
export * from './metrics';
