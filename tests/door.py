"""A TCP door in front of a real server: closed (connection refused) until a test opens it.

The supervision tests need "the server is down when the bot starts, then comes back" without
stopping the session's shared servers, which other tests in the same run use. So the bot is
pointed at the door's port, where nothing listens; ``open`` starts forwarding every
connection to the real server, byte for byte, and ``close`` shuts it again.
"""

from __future__ import annotations

import asyncio
import socket


class Door:
    def __init__(self) -> None:
        with socket.socket() as probe:  # a port nothing listens on (until open)
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        #: connections forwarded so far
        self.connections = 0

    async def open(self, target_port: int) -> None:
        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
            except OSError:
                writer.close()
                return
            self.connections += 1
            self._writers += [writer, up_writer]
            for source, sink in ((reader, up_writer), (up_reader, writer)):
                task = asyncio.create_task(self._pipe(source, sink))
                self._pipes.add(task)
                task.add_done_callback(self._pipes.discard)

        self._server = await asyncio.start_server(forward, "127.0.0.1", self.port)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        self._writers.clear()
