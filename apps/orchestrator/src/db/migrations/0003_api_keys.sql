-- API keys (issue 5): stored only as SHA-256 hashes of their random secret, found by a public prefix.

CREATE TABLE api_keys (
  id                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text        NOT NULL,
  -- The first characters of the key, shown in listings and used to find the row; not secret.
  prefix                text        NOT NULL UNIQUE,
  hash                  bytea       NOT NULL,
  scopes                text[]      NOT NULL CHECK (scopes <@ ARRAY['admin', 'client', 'runner']::text[]),
  -- Requests per minute; NULL means the default for its scopes.
  rate_limit_per_minute integer     CHECK (rate_limit_per_minute > 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  last_used_at          timestamptz,
  revoked_at            timestamptz
);

-- A runner may only heartbeat, claim and complete as itself: the key it registered with.
ALTER TABLE runners ADD COLUMN api_key_id bigint;
