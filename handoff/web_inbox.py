"""The web operator inbox: one aiohttp sub-application under /inbox, each route served by one of its
parts, all of them behind the guard."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handoff.web_feed import InboxFeed
from handoff.web_files import CitizenFiles
from handoff.web_guard import InboxGuard
from handoff.web_stats import StatsPages
from handoff.web_tickets import TicketPages

STATIC = Path(__file__).parent / "static"


class WebInbox:
    """The inbox's routes; `app()` serves them as a sub-application under /inbox."""

    def __init__(
        self,
        guard: InboxGuard,  # sign-in, sign-out and the account's name; checks every other page
        tickets: TicketPages,  # the queue, a ticket and actions on it
        files: CitizenFiles,  # citizens' recordings for the ticket page's players
        feed: InboxFeed,  # live updates for open pages
        stats: StatsPages,  # the supervisors' statistics
    ) -> None:
        self.guard = guard
        self.tickets = tickets
        self.files = files
        self.feed = feed
        self.stats = stats

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.root)
        app.add_subapp("/inbox", self.app())

    def app(self) -> web.Application:
        """The inbox under /inbox, every page behind the guard's middleware (routes named for it)."""
        inbox = web.Application(middlewares=[self.guard.middleware])
        add = inbox.router.add_route
        add("GET", "/login", self.guard.login_page, name="login_page")
        add("POST", "/login", self.guard.login, name="login")
        add("POST", "/logout", self.guard.logout, name="logout")
        add("GET", "", self.tickets.queue, name="queue")
        add("GET", "/ticket/{id:\\d+}", self.tickets.ticket, name="ticket")
        add("POST", "/ticket/{id:\\d+}/{action}", self.tickets.act, name="act")
        add("GET", "/ticket/{id:\\d+}/files/{message:\\d+}/{index:\\d+}", self.files.serve, name="file")
        add("GET", "/events", self.feed.events, name="events")
        add("GET", "/name", self.guard.name_page, name="name_page")
        add("POST", "/name", self.guard.set_name, name="set_name")
        add("GET", "/stats", self.stats.stats, name="stats")
        add("GET", "/stats.png", self.stats.stats_chart, name="stats_chart")
        inbox.router.add_static("/static", STATIC, append_version=False, name="static")
        return inbox

    async def root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/chat")
