-- The read model's owner runs migrations; the application role may read and write the read model
-- but never rewrite the access log (granted in the access-log migration).
CREATE ROLE cdtrack_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE cdtrack_app LOGIN PASSWORD 'change-me-app';
CREATE DATABASE cdtrack OWNER cdtrack_owner;
