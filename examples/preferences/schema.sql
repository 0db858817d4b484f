-- The preferences service's own table, its outbox, and the CRM's table (a second database in real life).

CREATE TABLE IF NOT EXISTS preferences (
  user_id text PRIMARY KEY,
  email_opted_in boolean NOT NULL,
  locale text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- contracts-connect --print-ddl with CONNECT_READER=outbox:contracts_outbox prints this.
CREATE TABLE IF NOT EXISTS contracts_outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  key bytea,
  value bytea NOT NULL,
  headers jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS contracts_outbox_topic_key_id ON contracts_outbox (topic, key, id);

-- The CRM's contacts: the columns it wants of preferences.v1.PreferenceChanged (see --print-ddl).
CREATE TABLE IF NOT EXISTS crm_contacts (
  user_id text PRIMARY KEY,
  changed_at timestamptz,
  channels jsonb,
  subscriptions jsonb,
  locale text
);
