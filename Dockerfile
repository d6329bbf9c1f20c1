# mentorbot as a container: the console script is the entry point, the config and the state
# (SQLite file, adapters' stores) are volumes, and it runs as an unprivileged user.
#   docker build -t mentorbot .
#   docker run -v ./mentorbot.toml:/etc/mentorbot/mentorbot.toml:ro -v mentorbot-state:/var/lib/mentorbot \
#     -e MENTORBOT_IRC_PASSWORD mentorbot run --adapters irc
# compose.yaml runs it with PostgreSQL, one container per platform.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatbot ./chatbot
COPY adapters ./adapters
COPY storage ./storage
RUN python -m venv /opt/mentorbot && /opt/mentorbot/bin/pip install . \
    && find /opt/mentorbot -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/mentorbot --create-home --shell /usr/sbin/nologin mentorbot \
    && mkdir -p /etc/mentorbot && chown mentorbot:mentorbot /etc/mentorbot
COPY --from=build /opt/mentorbot /opt/mentorbot
COPY config.example.toml /etc/mentorbot/mentorbot.toml
ENV PATH=/opt/mentorbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MENTORBOT_CONFIG=/etc/mentorbot/mentorbot.toml
WORKDIR /var/lib/mentorbot
USER 10001:10001
VOLUME ["/etc/mentorbot", "/var/lib/mentorbot"]
# exits 1 when an adapter of this container has been down longer than [health] max_down, or
# the database cannot be reached (give the adapters with --adapters where one runs per container)
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 CMD ["mentorbot", "health"]
ENTRYPOINT ["mentorbot"]
CMD ["run"]
