"""The Pynomaly schema (an anomaly-detection service) and its seeded rows, created once per lab."""
import os

import psycopg2
from psycopg2 import sql

SCHEMA = """
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    full_name   text NOT NULL,
    role        text NOT NULL DEFAULT 'analyst' CHECK (role IN ('admin', 'analyst', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_hash    text NOT NULL UNIQUE,
    label       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE TABLE datasets (
    id          bigserial PRIMARY KEY,
    owner_id    bigint NOT NULL REFERENCES users(id),
    name        text NOT NULL UNIQUE,
    source_uri  text NOT NULL,
    row_count   bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE detectors (
    id          bigserial PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets(id),
    name        text NOT NULL,
    algorithm   text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}',
    contamination numeric(4,3) NOT NULL DEFAULT 0.05,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE detection_runs (
    id          bigserial PRIMARY KEY,
    detector_id bigint NOT NULL REFERENCES detectors(id),
    status      text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    n_scored    bigint NOT NULL DEFAULT 0
);
CREATE TABLE anomalies (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES detection_runs(id),
    record_ref  text NOT NULL,
    score       double precision NOT NULL,
    label       text NOT NULL DEFAULT 'unreviewed',
    detected_at timestamptz NOT NULL
);
CREATE INDEX anomalies_run_id_idx ON anomalies (run_id);
CREATE INDEX detection_runs_detector_idx ON detection_runs (detector_id);
"""

SEED = [
    """INSERT INTO users (email, full_name, role)
       SELECT 'user' || g || '@pynomaly.example', 'User ' || g,
              (ARRAY['admin', 'analyst', 'viewer'])[1 + g %% 3]
       FROM generate_series(1, %(users)s) g""",
    """INSERT INTO api_keys (user_id, key_hash, label)
       SELECT 1 + g %% %(users)s, md5('key' || g), 'key ' || g FROM generate_series(1, %(users)s) g""",
    """INSERT INTO datasets (owner_id, name, source_uri, row_count)
       SELECT 1 + g %% %(users)s, 'dataset-' || g, 's3://pynomaly-data/ds' || g || '.parquet', g * 1000
       FROM generate_series(1, %(datasets)s) g""",
    """INSERT INTO detectors (dataset_id, name, algorithm, params)
       SELECT 1 + g %% %(datasets)s, 'detector-' || g,
              (ARRAY['IsolationForest', 'LOF', 'OneClassSVM', 'AutoEncoder'])[1 + g %% 4],
              jsonb_build_object('n_estimators', 100 + g)
       FROM generate_series(1, %(detectors)s) g""",
    """INSERT INTO detection_runs (detector_id, status, started_at, finished_at, n_scored)
       SELECT 1 + g %% %(detectors)s, 'succeeded', now() - g * interval '1 minute',
              now() - g * interval '1 minute' + interval '20 seconds', 1000
       FROM generate_series(1, %(runs)s) g""",
    """INSERT INTO anomalies (run_id, record_ref, score, label, detected_at)
       SELECT 1 + g %% %(runs)s, 'rec-' || g, (g %% 1000) / 1000.0,
              (ARRAY['unreviewed', 'confirmed', 'false_positive'])[1 + g %% 3],
              now() - g * interval '1 second'
       FROM generate_series(1, %(anomalies)s) g""",
]


def seed_sizes(rows):
    """Table sizes for a requested number of anomaly rows (LAB_DB_ROWS)."""
    rows = max(int(rows), 100)
    runs = max(rows // 50, 10)
    return {
        "users": 50,
        "datasets": 20,
        "detectors": 40,
        "runs": runs,
        "anomalies": rows,
    }


def ensure_schema(params):
    """Create the app role, the database and the seeded schema; a no-op when they exist."""
    app_password = params.pop("app_password", None)
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", ("pynomaly",))
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE ROLE pynomaly LOGIN PASSWORD {}").format(sql.Literal(app_password or "")))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (params["dbname"],))
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER pynomaly").format(sql.Identifier(params["dbname"])))
    admin.close()

    conn = psycopg2.connect(**params)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.anomalies') IS NOT NULL")
            if not cur.fetchone()[0]:
                cur.execute("SET ROLE pynomaly")
                cur.execute(SCHEMA)
                sizes = seed_sizes(os.environ.get("LAB_DB_ROWS", "20000"))
                for stmt in SEED:
                    cur.execute(stmt, sizes)
                cur.execute("RESET ROLE")
    finally:
        conn.close()
