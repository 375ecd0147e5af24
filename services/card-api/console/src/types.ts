/**
 * The admin API's shapes as the console reads them: the types @cards/client generates from the OpenAPI document
 * (the calls themselves go through its openapi-fetch client, api.ts). A change of the API that the console does
 * not follow fails its type check.
 */
import type { components } from '@cards/client';

type Schemas = components['schemas'];

export const CARD_STATUSES = ['PENDING', 'ACTIVE', 'FAILED'] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

export const CARD_COLORS = ['black', 'white', 'silver', 'gold', 'blue', 'pink'] as const;
export type CardColor = (typeof CARD_COLORS)[number];

export type User = Schemas['User'];
export type AdminCard = Schemas['AdminCardList']['data'][number];

export type CardsSummary = Schemas['AdminCardsSummary'];
export type CardDetail = Schemas['AdminCardDetail'];
export type DeadLetter = Schemas['DeadLetterList']['data'][number];
