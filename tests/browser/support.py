"""Helpers for the browser tests: a browser session per person that records what went
wrong on its pages, and screenshots."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PASSWORD = "demo-password"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class PageWatch:
    """What a page did that it should not: console errors, CSP violations, uncaught
    exceptions and requests that left the machine."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"uncaught: {m}" for m in self.page_errors]
            + [f"off-site request: {u}" for u in self.blocked]
        )

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "The page reported problems:\n" + "\n".join(problems)

    def assert_clean_but_for(self, status: int) -> None:
        """Clean, apart from the browser noting the page's own expected ``status`` (a form
        refused with 400 logs "Failed to load resource")."""
        expected = f"status of {status} "
        self.console_errors[:] = [m for m in self.console_errors if expected not in m]
        self.assert_clean()

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()
        self.blocked.clear()


def _loopback_only(watch: PageWatch):
    def handle(route):
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:", "about:")) or host == "127.0.0.1":
            route.continue_()
        else:
            watch.blocked.append(url)
            route.abort()

    return handle


class Session:
    """A browser context for one person, with the problems of every page it opened."""

    def __init__(self, browser, base_url: str, **context_options):
        options = {"viewport": DESKTOP, "locale": "en-GB", "timezone_id": "Europe/London"}
        options.update(context_options)
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, **options)
        self.context.set_default_timeout(15_000)
        self.watch = PageWatch()
        self.context.route("**/*", _loopback_only(self.watch))
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.watch.page_errors.append(str(error)))

    def _console(self, message) -> None:
        if message.type == "error":
            self.watch.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def goto(self, path: str):
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        return response

    def sign_in(self, email: str) -> None:
        page = self.page
        self.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("load")
        assert page.get_by_role("button", name="Sign out").is_visible(), page.content()[:2000]

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def update_readme_screenshots() -> bool:
    return os.environ.get("UPDATE_SCREENSHOTS", "") == "1"


def readme_screenshot(session: Session, name: str) -> None:
    """Save the visible part of the page as a README screenshot, when asked to."""
    if not update_readme_screenshots():
        return
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    session.page.set_viewport_size(DESKTOP)
    session.page.screenshot(path=str(README_SCREENSHOTS / f"{name}.png"), full_page=False)
