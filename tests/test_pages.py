"""The shared look: accessible base template, demo banner, local assets, error pages."""

import re

import pytest
from flask import abort

from referrals.models import AppSetting
from referrals.nation import DEMO_SETTING


def page(client, url="/"):
    response = client.get(url)
    return response, response.get_data(as_text=True)


def test_home_page_has_landmarks_skip_link_and_labelled_search(client):
    response, html = page(client)
    assert response.status_code == 200
    assert '<html lang="en-GB">' in html
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main"' in html
    assert "<header" in html and "<footer" in html
    assert '<nav class="site-nav" aria-label="Main">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "Sign in" in html


def test_every_stylesheet_and_script_is_served_by_the_app(client):
    _, html = page(client)
    urls = re.findall(r'<(?:link|script)[^>]+(?:href|src)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith("/static/"), url
        with client.get(url) as response:
            assert response.status_code == 200
    assert "//cdn" not in html and "https://" not in re.sub(r"<a [^>]*>", "", html)


def test_stylesheet_gives_visible_focus(client):
    with client.get("/static/css/app.css") as response:
        css = response.get_data(as_text=True)
    assert ":focus-visible" in css and "outline: 3px solid" in css


def test_demo_banner_only_when_demo_data_is_loaded(client, session):
    _, html = page(client)
    assert "Demo data." not in html
    session.add(AppSetting(key=DEMO_SETTING, value="{}"))
    session.commit()
    _, html = page(client)
    assert "Demo data." in html
    assert "Do not use these listings to refer anyone." in html


def test_not_found_page_in_the_site_look(client):
    response, html = page(client, "/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in html
    assert "Skip to main content" in html


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (400, "Something in that request was not right"),
        (403, "You do not have access to this page"),
        (404, "Page not found"),
        (500, "Sorry, something went wrong"),
    ],
)
def test_error_pages_share_the_site_look(app_factory, code, text):
    app = app_factory()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        if code == 500:
            raise RuntimeError("unexpected")
        abort(code)

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert text in html
    assert '<main id="main"' in html
    assert "RuntimeError" not in html and "Traceback" not in html
