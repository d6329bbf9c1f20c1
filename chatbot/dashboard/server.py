"""The dashboard's web server: aiohttp, in the bot's own event loop and process.

Why aiohttp: it is already installed (discord.py is built on it), and ``AppRunner`` + ``TCPSite``
start and stop a server inside a running loop with two awaits; Starlette would need uvicorn's
``Server.serve`` driven by hand, with its own signal handling to switch off. Pages are rendered
on the server from Jinja2 templates (autoescaping on), charts are inline SVG, no JavaScript.

Database work for a request runs in a worker thread (``asyncio.to_thread``) in one short
session, and the page is rendered after the session closed: a slow page never holds up the
adapters' network I/O in the loop, and holds the database only while it reads.

Every response carries a strict Content-Security-Policy (nothing but this site's stylesheet;
no script at all), and every error is a short page with the right 4xx status, never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

from aiohttp import web
from sqlmodel import Session

from chatbot.config import DashboardSettings
from chatbot.context import Context
from chatbot.dashboard import views
from chatbot.dashboard.auth import COOKIE, GENERATION_NAMESPACE, Signer
from chatbot.dashboard.lang import Templates, chosen_code, lang_cookie, pick
from chatbot.dashboard.views import Forbidden, NotFound, Page, Refusal, Viewer
from chatbot.i18n import N_, Language
from storage.db import reader
from storage.repos import Repos

if TYPE_CHECKING:
    from chatbot.engine import Engine

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a sign-in link is in the address: never pass it on
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
#: ids in paths: what a database integer holds (a longer number is simply not found)
MAX_ID = 2**63 - 1
#: what a page of each error status is titled and says (the sign-in ones: ``login``)
STATUS_TEXTS = {
    401: (N_("Sign in first"), N_("Sign in first: type {command} to the bot, and it sends you a link.")),
    404: (N_("Not found"), N_("There is no such page.")),
    405: (N_("Not allowed"), N_("That page does not take this kind of request.")),
}
LOGIN_REFUSED = {
    "unknown": N_("This sign-in link is not valid. Ask the bot for a new one with {command}."),
    "used": N_("This sign-in link has been used already: each link works once. Ask the bot for a new one with {command}."),
    "expired": N_("This sign-in link has expired. Ask the bot for a new one with {command}."),
    "role": N_("The dashboard is for coordinators, mentors and hosts."),
}

T = TypeVar("T")


def _id(request: web.Request, name: str) -> int:
    value = int(request.match_info[name])  # the route's pattern admits digits only
    if value > MAX_ID:
        raise NotFound(N_("There is no such page."))
    return value


def _generation(ctx: Context, member_id: int) -> int:
    """The member's session generation: a cookie of another one is from before a sign-out."""
    return int(ctx.repos.kv.get(GENERATION_NAMESPACE, str(member_id)) or 0)


class Dashboard:
    """The web app and the server that serves it."""

    def __init__(self, engine: "Engine", settings: DashboardSettings, secret: bytes) -> None:
        self.engine, self.settings = engine, settings
        self.signer = Signer(secret)
        self.templates = Templates(HERE / "templates", engine.languages, views.WORDS)
        self.runner: web.AppRunner | None = None
        self.url: str | None = None

    @property
    def secure(self) -> bool:
        return (self.settings.public_url or "").startswith("https://")

    # ------------------------------------------------------------------ serving

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=64 * 1024)
        app.add_routes([
            web.get("/", self.home),
            web.get("/login/{token}", self.login_page),
            web.post("/login/{token}", self.login),
            web.post("/logout", self.logout),
            web.get("/static/dashboard.css", self.stylesheet),
        ])
        for view, template, prefix, paths in (
            (views.overview, "overview.html", "round", ("/round", "/round/{round_id}", "/round/{round_id}/{name}.csv")),
            (views.pair, "pair.html", "pair", ("/pair/{pair_id}", "/pair/{pair_id}/{name}.csv")),
            (views.skills, "skills.html", "round", ("/skills", "/skills/{round_id}", "/skills/{round_id}/{name}.csv")),
            (views.office_hours, "office_hours.html", "office-hours", ("/office-hours", "/office-hours/{name}.csv")),
        ):
            handler = self._serve(view, template, prefix)
            for path in paths:
                path = path.replace("_id}", r"_id:\d{1,30}}").replace("{name}", "{name:[a-z0-9-]+}")
                app.router.add_get(path, handler)
        app.on_response_prepare.append(self._headers)
        return app

    async def start(self) -> str:
        """Serve on ``[dashboard] listen``; returns the address people open."""
        host, port = self.settings.address
        self.runner = web.AppRunner(self.app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        bound = self.runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        self.url = self.settings.public_url or f"http://{shown}:{bound}"
        log.info("dashboard: serving on %s:%s (people open %s)", host, bound, self.url)
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    # ------------------------------------------------------------------ plumbing

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        wanted = request.query.get("lang")
        if wanted and self.engine.languages.has(wanted):  # the link's or the switch's choice: kept
            response.headers.add("Set-Cookie", lang_cookie(wanted, secure=self.secure))  # set_cookie: too late here

    def _chosen(self, request: web.Request) -> str | None:
        return chosen_code(self.engine.languages, request.query, request.cookies)

    def _lang(self, request: web.Request, own: Language | None = None) -> Language:
        """The language of the answer to ``request`` (see :mod:`chatbot.dashboard.lang`)."""
        return pick(self.engine.languages, self._chosen(request), own, request.headers.get("Accept-Language", ""))

    @property
    def _command(self) -> str:
        """``!dashboard`` as people type it in chat."""
        return f"{self.engine.settings.bot.prefix}dashboard"

    @web.middleware
    async def _errors(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as exc:
            lang = exc.lang or self._lang(request)
            title = lang._("Not for you") if isinstance(exc, Forbidden) else lang._("Not found")
            return self._error(request, 403 if isinstance(exc, Forbidden) else 404, title, exc.said(lang), lang)
        except web.HTTPException as exc:
            if exc.status in (301, 302, 303, 307, 308):
                raise
            lang = self._lang(request)
            title, text = STATUS_TEXTS.get(exc.status, (N_("Cannot serve this"), N_("That request could not be served.")))
            return self._error(request, exc.status, lang._(title), lang._(text, command=self._command))
        except Exception:
            ref = secrets.token_hex(4)
            path = "/login/…" if request.path.startswith("/login/") else request.path  # a link is a secret
            log.exception("dashboard: %s %s failed (ref %s)", request.method, path, ref)
            lang = self._lang(request)
            return self._error(request, 500, lang._("Something went wrong"),
                               lang._("Something went wrong on our side (ref {ref}).", ref=ref))

    def _error(self, request: web.Request, status: int, title: str, message: str,
               lang: Language | None = None) -> web.Response:
        body = self.templates.render("error.html", lang or self._lang(request), title=title, message=message,
                                     status=status, viewer=None)
        return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")

    def _render(self, template: str, lang: Language, **values: Any) -> web.Response:
        body = self.templates.render(template, lang, **values)
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def _work(self, fn: Callable[[Context], T], *, write: bool = False) -> T:
        """Run ``fn`` with a read-only context (committed only with ``write``) in a worker thread."""

        def run() -> T:
            with Session(self.engine.database if write else reader(self.engine.database), expire_on_commit=False) as db:
                ctx = Context(self.engine, Repos(db), self.engine.clock.now())
                result = fn(ctx)
                if write:
                    db.commit()
                return result

        return await asyncio.to_thread(run)

    def _viewer(self, ctx: Context, request: web.Request) -> Viewer | None:
        """Who sends this request: a valid cookie, not signed out since, of someone who may sign in."""
        raw = request.cookies.get(COOKIE)
        session = self.signer.read(raw, ctx.now) if raw else None
        if session is None:
            return None
        if session.generation != _generation(ctx, session.member_id):
            return None  # signed out since
        viewer = views.viewer_of(ctx, session.member_id)
        return viewer if viewer is not None and viewer.may_sign_in else None

    async def _page(self, request: web.Request, build: Callable[[Context, Viewer], T]) -> tuple[Viewer, T]:
        """The signed-in viewer and what ``build`` made for them; a visitor without a session
        gets a 401 page that says how to sign in."""

        def run(ctx: Context) -> tuple[Viewer | None, T | None]:
            viewer = self._viewer(ctx, request)
            if viewer is None:
                return None, None
            viewer = dataclasses.replace(viewer, language=self._lang(request, viewer.language))
            try:
                return viewer, build(ctx, viewer)
            except Refusal as exc:
                exc.lang = viewer.language  # its page in the viewer's language too
                raise

        viewer, result = await self._work(run)
        if viewer is None:
            raise web.HTTPUnauthorized()
        return viewer, result  # type: ignore[return-value]

    def _show(self, template: str, viewer: Viewer, page: Page) -> web.Response:
        return self._render(template, viewer.language, viewer=viewer, page=page, title=page.title, **page.data)

    def _csv(self, page: Page, name: str, filename: str) -> web.Response:
        figure = page.figure(name)
        return web.Response(text=figure.csv(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    # ------------------------------------------------------------------ signing in and out

    async def login_page(self, request: web.Request) -> web.Response:
        """A page with a button: the link is spent by the POST it sends, so a chat platform that
        previews links (fetching them) cannot use up somebody's sign-in."""
        lang = self._lang(request)
        return self._render("login.html", lang, title=lang._("Sign in"), viewer=None, token=request.match_info["token"],
                            chosen=self._chosen(request))

    async def login(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        lasts = timedelta(hours=self.settings.session_hours)

        def spend(ctx: Context) -> tuple[str | None, str]:
            member_id, why = ctx.repos.dashboard_links.use(token, ctx.now)
            if member_id is None:
                return None, why
            viewer = views.viewer_of(ctx, member_id)
            if viewer is None or not viewer.may_sign_in:
                return None, "role"
            return self.signer.issue(member_id, _generation(ctx, member_id), ctx.now, lasts), viewer.home

        cookie, where = await self._work(spend, write=True)
        if cookie is None:
            lang = self._lang(request)
            return self._error(request, 403 if where == "role" else 410 if where in ("used", "expired") else 404,
                               lang._("Cannot sign in"), lang._(LOGIN_REFUSED[where], command=self._command))
        response = web.HTTPSeeOther(where)
        response.set_cookie(COOKIE, cookie, max_age=int(lasts.total_seconds()), httponly=True, samesite="Strict",
                            secure=self.secure, path="/")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        def forget(ctx: Context) -> None:
            raw = request.cookies.get(COOKIE)
            session = self.signer.read(raw, ctx.now) if raw else None
            if session is not None and session.generation == _generation(ctx, session.member_id):
                ctx.repos.kv.set(GENERATION_NAMESPACE, str(session.member_id), str(session.generation + 1))

        await self._work(forget, write=True)
        lang = self._lang(request)
        response = self._render("signed_out.html", lang, title=lang._("Signed out"), viewer=None, command=self._command)
        response.del_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ pages

    async def home(self, request: web.Request) -> web.Response:
        viewer, _ = await self._page(request, lambda ctx, v: None)
        raise web.HTTPSeeOther(viewer.home)

    def _serve(self, view: Callable[..., Page], template: str, prefix: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The handler of a page and of the CSV downloads behind its charts (``{name}.csv``):
        both are made by the same view, with the same checks."""

        async def handler(request: web.Request) -> web.Response:
            ids = [_id(request, key) for key in ("round_id", "pair_id") if key in request.match_info]
            viewer, page = await self._page(request, lambda ctx, v: view(ctx, v, *ids))
            name = request.match_info.get("name")
            if name is None:
                return self._show(template, viewer, page)
            return self._csv(page, name, "-".join([prefix, *map(str, ids), name]) + ".csv")

        return handler

    async def stylesheet(self, request: web.Request) -> web.Response:
        return web.Response(text=(HERE / "static" / "dashboard.css").read_text(encoding="utf-8"), content_type="text/css",
                            headers={"Cache-Control": "max-age=3600"})
