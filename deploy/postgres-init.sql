-- The read model's roles, run once by the postgres image on a fresh volume (psql 15 or later).
-- cdtrack_owner owns the schema and runs `cdtrack migrate`; cdtrack_app is what the worker and the
-- API connect as. The privileges of cdtrack_app are granted by the migrations, not here: migration
-- 0008 (access log as a Merkle tree) grants SELECT and INSERT on the access log's entries, leaves
-- and heads, and DELETE too on its queue; SELECT and INSERT on timeline events, deliveries,
-- assessments and idempotency keys; SELECT, INSERT, UPDATE and DELETE on operations, their
-- participants and legs, agencies, users, tokens and notification targets; USAGE on sequences.
-- Never UPDATE, DELETE or TRUNCATE on the log, and, not being the owner, cdtrack_app cannot
-- disable the log's triggers.
--
-- No password is written here. They come from the environment of the postgresql container
-- (CDTRACK_OWNER_PASSWORD, CDTRACK_DB_PASSWORD, the same values the cdtrack services use); a role
-- whose variable is unset is left without a password and cannot log in until one is set.
CREATE ROLE cdtrack_owner LOGIN;
CREATE ROLE cdtrack_app LOGIN;
CREATE DATABASE cdtrack OWNER cdtrack_owner;
-- The application may connect, nothing more, until the migrations grant it its tables.
REVOKE ALL ON DATABASE cdtrack FROM PUBLIC;
GRANT CONNECT ON DATABASE cdtrack TO cdtrack_owner, cdtrack_app;

\getenv owner_password CDTRACK_OWNER_PASSWORD
\if :{?owner_password}
ALTER ROLE cdtrack_owner PASSWORD :'owner_password';
\endif
\getenv app_password CDTRACK_DB_PASSWORD
\if :{?app_password}
ALTER ROLE cdtrack_app PASSWORD :'app_password';
\endif
