export * from './database';
export * from './eventually';
export * from './infrastructure';
export * from './kafka';
export * from './metrics';
export * from './processes';
export * from './tcp-proxy';
export * from './hostile-messages';
