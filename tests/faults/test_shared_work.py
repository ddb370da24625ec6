"""Three `okno run` processes on one PostgreSQL and Redis share the chats of Telegram and VK: each
handles its own share of them, every message is answered once and in order per chat, and one
poller per platform runs at any moment. kill -9 of a process working on its share: the others take
its chats over; kill -9 of the one receiving: another receives within 10 s; nothing is lost."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, pg_url
from tests.e2e.conftest import free_port
from tests.e2e.test_process import environment
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_wire import POLL_CONFLICT
from tests.fakes.vk_api import FakeVk
from tests.faults.drive import SCRIPT, Tally, kinds, script_lines, tally_of, until
from tests.faults.services import CuttableProxy
from tests.faults.test_failover import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TELEGRAM_CHATS = list(range(8001, 8031))
VK_PEERS = list(range(9001, 9016))
TAKEOVER_SECONDS = 10.0


@pytest.fixture
async def fake_vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as server:
        yield server


def settings(fake: FakeTelegram, fake_vk: FakeVk, tmp_path: Path, url: str) -> dict[str, str]:
    return environment(
        fake,
        tmp_path,
        OKNO_DATABASE_URL=url,
        OKNO_REDIS_URL=REDIS_URL,
        OKNO_REDIS_PREFIX=f"okno-shared-{uuid.uuid4().hex[:8]}:",
        OKNO_VK_TOKEN=fake_vk.token,
        OKNO_VK_GROUP_ID=str(fake_vk.group_id),
        OKNO_VK_API_URL=fake_vk.url,
        OKNO_VK_MODE="longpoll",
        OKNO_WEB_CHAT="true",  # for /metrics: which process handled how many
    )


@pytest.fixture
async def database() -> AsyncIterator[str]:
    name = await create_pg_database()
    try:
        yield name
    finally:
        await drop_pg_database(name)


@pytest.fixture
async def cluster(
    fake: FakeTelegram, fake_vk: FakeVk, tmp_path: Path, database: str
) -> AsyncIterator[Cluster]:
    made = Cluster(settings(fake, fake_vk, tmp_path, pg_url(database)), tmp_path)
    try:
        yield made
    finally:
        await made.stop()


@pytest.fixture
async def cut_off_cluster(
    fake: FakeTelegram, fake_vk: FakeVk, tmp_path: Path, database: str
) -> AsyncIterator[tuple[Cluster, CuttableProxy]]:
    """The processes reach PostgreSQL through a proxy that the test cuts, as a restart would."""
    proxy = CuttableProxy(5432)
    await proxy.start()
    url = pg_url(database).replace(":5432/", f":{proxy.port}/")
    made = Cluster(settings(fake, fake_vk, tmp_path, url), tmp_path)
    try:
        yield made, proxy
    finally:
        await made.stop()
        await proxy.close()


async def started(cluster: Cluster, traffic: Traffic) -> dict[int, int]:
    """Three processes, each with its share of the chats, and VK's poller listening; their ports."""
    ports = {n: free_port() for n in range(3)}
    for n, port in ports.items():
        await cluster.start(n, OKNO_WEB_PORT=str(port))

    def shared() -> bool:
        return all("partitions taken" in cluster.log(n) for n in ports)

    await until(shared, "every process has its share", traffic.logs)
    # VK's Long Poll gives only the events after the poller asked for its server, as VK does
    await until(lambda: any(c.method == "longpoll" for c in traffic.fake_vk.calls), "VK polled", traffic.logs)
    return ports


class Traffic:
    """Numbered rounds to every chat of both platforms, and what came back."""

    def __init__(self, fake: FakeTelegram, fake_vk: FakeVk, cluster: Cluster) -> None:
        self.fake, self.fake_vk, self.cluster = fake, fake_vk, cluster
        self.expected: dict[tuple[str, int], list[int]] = {}
        self.step = 0

    def send_round(self) -> None:
        kind = self.step % len(SCRIPT)
        for chat in TELEGRAM_CHATS:
            self.fake.message_update(chat, SCRIPT[kind][0])
            self.expected.setdefault(("telegram", chat), []).append(kind)
        for peer in VK_PEERS:
            self.fake_vk.message_new(peer, SCRIPT[kind][0])
            self.expected.setdefault(("vk", peer), []).append(kind)
        self.step += 1

    def got(self, channel: str, chat: int) -> list[int]:
        if channel == "telegram":
            return kinds(self.fake, chat)
        return script_lines([str(m.get("text", "")) for m in self.fake_vk.sent(chat)])

    def tally(self) -> Tally:
        return tally_of(lambda key: self.got(*key), self.expected)

    def unanswered(self) -> str:
        """Which chats still wait, for a failure's message."""
        waiting = [
            f"{channel}:{chat} {self.got(channel, chat)} of {wanted}"
            for (channel, chat), wanted in self.expected.items()
            if self.got(channel, chat) != wanted
        ]
        vk_calls = Counter(f"{c.method}:{c.error or 'ok'}" for c in self.fake_vk.calls)
        return f"{len(waiting)} chats wait: {waiting[:6]}; VK calls: {dict(vk_calls)}"

    def logs(self) -> str:
        return f"{self.unanswered()}\n{self.cluster.logs()}"

    def answered(self) -> bool:
        return self.tally().answered_once == sum(len(w) for w in self.expected.values())


async def handled(port: int) -> float:
    """The updates a process has handled, by its /metrics."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        body = await response.text()
    return sum(float(v) for v in re.findall(r"^okno_updates_handled_total\{[^}]*\} (\S+)$", body, re.M))


async def test_three_processes_share_the_chats_and_take_over_a_killed_ones(
    fake: FakeTelegram, fake_vk: FakeVk, cluster: Cluster
) -> None:
    traffic = Traffic(fake, fake_vk, cluster)
    logs = traffic.logs
    ports = await started(cluster, traffic)
    for _ in range(2):
        traffic.send_round()
        await until(traffic.answered, "the first rounds answered", logs)
    counts = {n: await handled(port) for n, port in ports.items()}
    assert all(count > 0 for count in counts.values()), (counts, cluster.logs())  # the chats are shared
    assert sum(counts.values()) == traffic.tally().sent, counts  # each update handled once
    [receiver] = cluster.leaders()

    worker = next(n for n in cluster.processes if n != receiver)
    before = traffic.tally().answered_once
    traffic.send_round()
    await until(lambda: traffic.tally().answered_once > before, "the round under way", logs)
    cluster.processes[worker].kill()  # kill -9 of a process with its share of the chats, mid-round
    await cluster.processes[worker].wait()
    resumed = await until(traffic.answered, "the killed worker's chats answered", logs)

    cluster.processes[receiver].kill()  # kill -9 of the one receiving
    await cluster.processes[receiver].wait()
    traffic.send_round()
    received = await until(traffic.answered, "answered after the receiver was killed", logs)
    [survivor] = [n for n, p in cluster.processes.items() if p.returncode is None]
    assert cluster.leaders() == [survivor]
    traffic.send_round()
    await until(traffic.answered, "the next round answered", logs)

    final = traffic.tally()
    report = (
        f"resumed {resumed:.1f} s after a worker's kill -9, answered {received:.1f} s after the receiver's"
    )
    print(f"\nshared work: {report}; {final}")  # noqa: T201 - the suite's report
    assert final.lost == 0 and final.out_of_order == 0, cluster.logs()
    assert final.doubled <= len(TELEGRAM_CHATS) + len(VK_PEERS), cluster.logs()  # sends in flight at a kill
    assert received < TAKEOVER_SECONDS + 5, cluster.logs()  # taking over, then the answers of a round
    assert all(POLL_CONFLICT not in cluster.log(n) for n in cluster.processes), "two Telegram pollers at once"
    assert fake_vk.most_polling_at_once == 1, "two VK pollers at once"


async def test_three_processes_ride_out_a_cut_of_the_database(
    fake: FakeTelegram, fake_vk: FakeVk, cut_off_cluster: tuple[Cluster, CuttableProxy]
) -> None:
    cluster, proxy = cut_off_cluster
    traffic = Traffic(fake, fake_vk, cluster)
    await started(cluster, traffic)
    traffic.send_round()
    await until(traffic.answered, "the first round answered", traffic.logs)
    await proxy.cut()  # every connection to PostgreSQL ends at once, as in a restart
    traffic.send_round()
    lost = "the partitions' connection to the database was lost"
    await until(
        lambda: all(lost in cluster.log(n) for n in cluster.processes), "the cut noticed", traffic.logs
    )
    await proxy.restore()
    await until(traffic.answered, "the round sent during the cut answered", traffic.logs)
    traffic.send_round()
    await until(traffic.answered, "the next round answered", traffic.logs)
    final = traffic.tally()
    assert final.lost == 0 and final.out_of_order == 0 and final.doubled == 0, traffic.logs()
    assert all(p.returncode is None for p in cluster.processes.values()), traffic.logs()
    assert all(POLL_CONFLICT not in cluster.log(n) for n in cluster.processes), "two Telegram pollers at once"
    assert fake_vk.most_polling_at_once == 1, "two VK pollers at once"
