# Stand-in for python:3.11-slim, built from a debootstrap'd Debian bookworm (bench/deploy/compose_check.sh).
# Only for machines that cannot reach Docker Hub. It gives the shipped Dockerfile what it relies on:
# python and pip on PATH, pip allowed to install, apt-get, useradd, and a C.UTF-8 locale.
FROM local/bookworm-base:1
RUN python3.11 -m venv /usr/local/py
ENV PATH=/usr/local/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["python3"]
