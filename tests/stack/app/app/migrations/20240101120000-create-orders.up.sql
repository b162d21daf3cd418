CREATE TABLE orders (id bigserial PRIMARY KEY, total_vnd bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
