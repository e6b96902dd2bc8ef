-- Run once by the postgres image's entrypoint, on an empty data volume only
-- (files in /docker-entrypoint-initdb.d/, as POSTGRES_USER, which then owns the databases).
-- One database per service: no service can read another's tables through its DATABASE_URL.
CREATE DATABASE planeco_levers;
CREATE DATABASE planeco_diagnostic;
CREATE DATABASE planeco_actions;
CREATE DATABASE planeco_gateway;
