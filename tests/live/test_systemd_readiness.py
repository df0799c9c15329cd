"""`podium web` under a service manager (systemd's ``Type=notify``): it says it is ready only once
its pages answer, and that it is stopping when it is told to stop (SIGTERM, as systemd stops a
unit). The service manager here is a Unix datagram socket named in ``NOTIFY_SOCKET``, as systemd
gives it. `podium run` goes through the same wait (``bot.serve``), after the bot has caught up."""

from __future__ import annotations

import signal
import socket
import urllib.request

from bot.ports import free_port
from bot import SAMPLE_SCHEDULE
from tests.support.demo_process import PodiumProcess
from tests.support.waiting import PATIENCE

SERVING = "Widget pages for"


def test_podium_web_is_ready_once_its_pages_answer_and_says_when_it_stops(tmp_path):
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify"))
    manager.settimeout(PATIENCE)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = free_port()
    web = PodiumProcess(["web", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data_dir), "--listen",
                         f"127.0.0.1:{port}", "--user-id", "@podium:localhost"], cwd=tmp_path,
                        env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
    try:
        assert manager.recv(4096) == b"READY=1", web.output
        # Told ready: the pages answer now, with no wait.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200
        assert SERVING in web.output
        web.process.send_signal(signal.SIGTERM)
        assert manager.recv(4096) == b"STOPPING=1", web.output
        assert web.process.wait(PATIENCE) == 0, web.output
    finally:
        manager.close()
        if web.process.poll() is None:
            web.kill()
