import type { Knex } from 'knex';

/**
 * Accepting a card in one round trip: `create_card_if_allowed` does in one call (one statement, one commit) what
 * took six: lock the user, count the request against the user's rate limit, count the user's cards, insert the
 * card and its outbox row. It is plpgsql rather than one SQL statement because the counts must follow the lock: in
 * a plpgsql function each statement takes a fresh snapshot, so a request that waited for the lock sees the cards
 * and counts its predecessor committed (a single statement would still read what it saw before waiting).
 *
 * The rate-limit row keeps the shape rate-limiter-flexible used (`key`, `points` consumed, `expire` in ms since the
 * epoch; a fixed window from the first request), so counters written before this migration carry on. A refused
 * request still counts, and is committed: hammering does not earn a quicker retry.
 *
 * Outcomes: CREATED (with the card's timestamps), RATE_LIMITED (with the ms until the window ends), or
 * CARD_LIMIT_REACHED; nothing but the rate counter is written unless CREATED. The event's `data.requestedAt` is
 * stamped here with the card's created_at, so the event states exactly what the card row holds (the database's
 * clock, at the column's millisecond precision).
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    CREATE FUNCTION create_card_if_allowed(
      p_card_id        uuid,
      p_user_id        uuid,
      p_color          text,
      p_correlation_id text,
      p_event_id       uuid,
      p_topic          text,
      p_event_type     text,
      p_event          jsonb,
      p_card_limit     integer,
      p_rate_key       text,
      p_rate_points    integer,
      p_rate_window_ms bigint
    ) RETURNS TABLE (outcome text, retry_after_ms bigint, created_at timestamptz, updated_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_now     timestamptz;
      v_now_ms  bigint;
      v_points  integer;
      v_expire  bigint;
      v_held    bigint;
    BEGIN
      -- Serialises the user's card requests until commit, so both limits hold under concurrency.
      SELECT now()::timestamptz(3) INTO v_now FROM users WHERE id = p_user_id FOR UPDATE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'no user % to lock', p_user_id USING ERRCODE = 'no_data_found';
      END IF;

      v_now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      INSERT INTO rate_limits AS r (key, points, expire)
      VALUES (p_rate_key, 1, v_now_ms + p_rate_window_ms)
      ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN r.expire IS NULL OR r.expire <= v_now_ms THEN 1 ELSE r.points + 1 END,
        expire = CASE WHEN r.expire IS NULL OR r.expire <= v_now_ms THEN v_now_ms + p_rate_window_ms
                      ELSE r.expire END
      RETURNING r.points, r.expire INTO v_points, v_expire;
      IF v_points > p_rate_points THEN
        RETURN QUERY SELECT 'RATE_LIMITED'::text, greatest(v_expire - v_now_ms, 0)::bigint,
                            NULL::timestamptz, NULL::timestamptz;
        RETURN;
      END IF;

      SELECT count(*) INTO v_held FROM cards c WHERE c.user_id = p_user_id AND c.status <> 'FAILED';
      IF v_held >= p_card_limit THEN
        RETURN QUERY SELECT 'CARD_LIMIT_REACHED'::text, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
        RETURN;
      END IF;

      RETURN QUERY
        WITH card AS (
          INSERT INTO cards AS c (id, user_id, color, correlation_id, created_at)
          VALUES (p_card_id, p_user_id, p_color, p_correlation_id, v_now)
          RETURNING c.created_at, c.updated_at
        ), event AS (
          INSERT INTO outbox (event_id, topic, key, type, event)
          VALUES (p_event_id, p_topic, p_card_id::text, p_event_type,
                  jsonb_set(p_event, '{data,requestedAt}',
                            to_jsonb(to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))))
        )
        SELECT 'CREATED'::text, NULL::bigint, card.created_at::timestamptz, card.updated_at FROM card;
    END
    $$;
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw(/* sql */ `
    DROP FUNCTION create_card_if_allowed(uuid, uuid, text, text, uuid, text, text, jsonb, integer, text, integer, bigint)
  `);
}
