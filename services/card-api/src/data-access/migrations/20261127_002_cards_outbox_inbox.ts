import type { Knex } from 'knex';

/**
 * The saga's tables. `cards` and `outbox` are written in one transaction (atomic write); `inbox` makes applying a
 * result exactly-once; `idempotency_keys` replays a client's retried POST.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    CREATE TABLE cards (
      id                    uuid PRIMARY KEY,
      user_id               uuid NOT NULL REFERENCES users (id),
      color                 text NOT NULL CHECK (color IN ('black', 'white', 'silver', 'gold', 'blue', 'pink')),
      status                text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'ACTIVE', 'FAILED')),
      provider_card_id      text,
      last4                 char(4) CHECK (last4 ~ '^[0-9]{4}$'),
      exp_month             smallint CHECK (exp_month BETWEEN 1 AND 12),
      exp_year              smallint CHECK (exp_year BETWEEN 2000 AND 2100),
      failure_code          text CHECK (failure_code IN
                              ('PROVIDER_REJECTED', 'PROVIDER_UNAVAILABLE', 'PROVIDER_CONTRACT_VIOLATION', 'TIMED_OUT')),
      failure_message       text,
      correlation_id        text,
      -- Millisecond precision: the API and its cursors speak milliseconds, so keyset pages must compare in them.
      created_at            timestamptz(3) NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now(),
      activated_at          timestamptz,
      failed_at             timestamptz,
      provider_cancel_requested_at timestamptz,
      provider_cancelled_at timestamptz,
      -- The lifecycle's invariants, held by the database whatever the code does.
      CONSTRAINT active_has_details CHECK (status <> 'ACTIVE' OR
        (provider_card_id IS NOT NULL AND last4 IS NOT NULL AND exp_month IS NOT NULL AND activated_at IS NOT NULL)),
      CONSTRAINT failed_has_reason CHECK (status <> 'FAILED' OR (failure_code IS NOT NULL AND failed_at IS NOT NULL))
    );
    -- A user's cards, newest first (list and cursor pagination); also counts for the card limit.
    CREATE INDEX cards_user_created_idx ON cards (user_id, created_at DESC, id DESC);
    -- Operators' list across users, and the saga-deadline reaper's scan of PENDING cards.
    CREATE INDEX cards_created_idx ON cards (created_at DESC, id DESC);
    CREATE INDEX cards_pending_idx ON cards (created_at) WHERE status = 'PENDING';

    CREATE TABLE outbox (
      id            bigserial PRIMARY KEY,
      event_id      uuid NOT NULL UNIQUE,
      topic         text NOT NULL,
      key           text NOT NULL,
      type          text NOT NULL,
      event         jsonb NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      published_at  timestamptz,
      attempts      integer NOT NULL DEFAULT 0,
      last_error    text
    );
    -- The relay reads unpublished rows in id order; this index stays as small as the backlog.
    CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
    CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

    CREATE TABLE inbox (
      event_id      text PRIMARY KEY,
      type          text NOT NULL,
      card_id       uuid NOT NULL,
      outcome       text NOT NULL,
      received_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX inbox_card_idx ON inbox (card_id);

    CREATE TABLE idempotency_keys (
      user_id           uuid NOT NULL REFERENCES users (id),
      key               text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
      request_hash      text NOT NULL,
      status            text NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETED')),
      response_status   smallint,
      response_body     jsonb,
      response_headers  jsonb,
      created_at        timestamptz NOT NULL DEFAULT now(),
      completed_at      timestamptz,
      PRIMARY KEY (user_id, key)
    );
    CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ 'DROP TABLE idempotency_keys, inbox, outbox, cards');
}
