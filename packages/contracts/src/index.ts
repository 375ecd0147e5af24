export * from './error-codes';
export * from './problem';
export * from './topics';
