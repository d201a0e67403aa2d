"""A loopback TCP proxy that makes the emulator behave like a distant GCS region.

Each request waits one round-trip time before it reaches the server (half going, half coming back,
charged when the response starts), and responses are paced to a bandwidth cap. Request counts and
parallelism then cost what they cost against real GCS. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
import time


class LatencyProxy:
    """Forwards 127.0.0.1:<port> to `target` with `rtt` seconds per request and `bandwidth` bytes/s."""

    def __init__(
        self, target_port: int, rtt: float = 0.030, bandwidth: float = 100e6, port: int = 0, shared: bool = False
    ) -> None:
        self.target_port = target_port
        self.rtt = rtt
        self.bandwidth = bandwidth
        self.shared = shared
        """One cap for all connections together (a VM's link), instead of one per connection (GCS's
        per-stream throughput, which parallel downloads add up)."""
        self._free_at = 0.0  # shared cap: when the link is free for the next chunk
        self.port = port  # 0: any free port; 443 inside the namespace, where TensorFlow expects Google's hosts
        self.requests = 0  # request/response exchanges seen (a TLS handshake counts as one, as it costs one RTT)
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="latency-proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the latency proxy did not start on port {self.port} (see the traceback above)")

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()  # the port is free again at once: the scan rows start a proxy on it next
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        waiting = asyncio.Event()  # set while a request is on its way: its response pays the second half-RTT

        async def upstream() -> None:
            while data := await client_reader.read(65536):
                if not waiting.is_set():
                    self.requests += 1
                    await asyncio.sleep(self.rtt / 2)
                    waiting.set()
                server_writer.write(data)
                await server_writer.drain()
            server_writer.close()

        async def downstream() -> None:
            while data := await server_reader.read(65536):
                if waiting.is_set():
                    await asyncio.sleep(self.rtt / 2)
                    waiting.clear()
                started = time.monotonic()
                due = len(data) / self.bandwidth
                if self.shared:  # queue behind the other connections' chunks (one event loop: no lock)
                    self._free_at = max(started, self._free_at) + due
                    due = self._free_at - started
                client_writer.write(data)
                await client_writer.drain()
                pause = due - (time.monotonic() - started)
                if pause > 0:
                    await asyncio.sleep(pause)
            client_writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError, asyncio.CancelledError):  # cancelled: the proxy is stopping
            client_writer.close()
