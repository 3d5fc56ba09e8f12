# Stand-in for postgres:16, built from Debian bookworm's PostgreSQL 15 (bench/deploy/compose_check.sh).
# Only for machines that cannot reach Docker Hub. It supports what docker-compose.yml uses from the
# official image: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, the data directory
# /var/lib/postgresql/data (a named volume), password auth over TCP, and pg_isready.
FROM local/bookworm-base:1
RUN mkdir -p /var/lib/postgresql/data && chown -R postgres:postgres /var/lib/postgresql && chmod 700 /var/lib/postgresql/data
COPY pg-entrypoint.sh /usr/local/bin/pg-entrypoint.sh
USER postgres
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin
EXPOSE 5432
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pg-entrypoint.sh"]
