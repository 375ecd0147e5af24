import type { Knex } from 'knex';

/**
 * What the operator console needs. The inbox keeps, per result, when the provider answered (the event's time), after
 * how many attempts, and what it said (failure code and message, provider card id): the card's timeline tells the
 * provider's side from them. Rows written before have none of it, and still render. `audit_log` records every
 * operator action; it is append-only, held by a trigger whatever the code does.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    ALTER TABLE inbox
      ADD COLUMN attempts    integer,
      ADD COLUMN occurred_at timestamptz,
      ADD COLUMN detail      jsonb;

    CREATE TABLE audit_log (
      id                bigserial PRIMARY KEY,
      at                timestamptz NOT NULL DEFAULT now(),
      actor_user_id     uuid REFERENCES users (id),
      actor_external_id text NOT NULL CHECK (length(actor_external_id) BETWEEN 1 AND 200),
      action            text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
      target            text,
      request_id        text,
      details           jsonb NOT NULL DEFAULT '{}'::jsonb
    );

    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER audit_log_no_update_or_delete
      BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate
      BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_append_only();
    ALTER TABLE inbox DROP COLUMN attempts, DROP COLUMN occurred_at, DROP COLUMN detail;
  `);
}
