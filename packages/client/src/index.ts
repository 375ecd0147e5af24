export * from './cards-client';
export type { components, operations, paths } from './generated/api';
