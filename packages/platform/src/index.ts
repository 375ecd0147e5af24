export * from './config';
export * from './events';
export * from './health';
export * from './http-server';
export * from './kafka';
export * from './lifecycle';
export * from './logger';
export * from './problem';
