#!/bin/sh
# Run once by the official postgres image when it creates the database (docker-entrypoint-initdb.d):
# lets the `scale` profile's streaming replica connect for replication as the Annals user (a
# superuser in that image, so it may replicate), with the same password as everyone else.
set -e
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
