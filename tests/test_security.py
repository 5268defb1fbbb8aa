"""Security on every response: headers, cookies over HTTPS, redirects, rate limits, size."""

import io
import re

import pytest

from referrals.choices import Role

from .factories import make_service, make_user
from .test_auth import sign_in
from .test_directory_import import upload_services


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in policy.split(";"))
    }


@pytest.mark.parametrize("path", ["/", "/services?q=G31", "/login", "/healthz", "/nowhere"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = csp(response)
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    # plain HTTP: no HSTS (it would be ignored, and it would be wrong on a test server)
    assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("path", ["/", "/services?q=G31", "/map", "/login", "/reports"])
def test_ordinary_pages_have_no_inline_script(client, session, path):
    make_service(session, name="Scripted")
    session.commit()
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), f"inline script on {path}"
    assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"


def test_map_documents_get_their_own_policy(client, session):
    service = make_service(session, name="On the map")
    session.commit()
    response = client.get(f"/services/{service.id}/map")
    assert response.status_code == 200
    assert "<script>" in response.get_data(as_text=True)  # folium's own inline scripts
    policy = csp(response)
    assert "'unsafe-inline'" in policy["script-src"]
    assert policy["frame-ancestors"] == "'self'"  # shown in our own pages only
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "X-Map-Document" not in response.headers  # the internal marker never leaves


def test_tile_server_is_allowed_for_images_only_when_configured(app_factory):
    with_tiles = app_factory(MAP_TILES_URL="https://{s}.tiles.example/{z}/{x}/{y}.png")
    policy = csp(with_tiles.test_client().get("/"))
    assert policy["img-src"] == "'self' data: https://*.tiles.example"
    assert "tiles.example" not in policy["script-src"]


def test_https_adds_hsts_and_a_secure_session_cookie(client, session):
    make_user(session, Role.ADMIN, email="s@test.example")
    session.commit()
    response = sign_in(client, "s@test.example", base_url="https://localhost")
    assert response.status_code == 302
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_plain_http_cookie_is_httponly_and_lax_but_not_secure(client, session):
    make_user(session, Role.ADMIN, email="h@test.example")
    session.commit()
    cookie = sign_in(client, "h@test.example").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_forwarded_https_is_believed_only_from_a_trusted_proxy(app_factory):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = app_factory().test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers
    behind_proxy = app_factory(TRUSTED_PROXIES=1).test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" in behind_proxy.headers


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "%2F%2Fevil.example",
    ],
)
def test_next_never_leaves_the_site(client, session, target):
    make_user(session, Role.ADMIN, email="r@test.example")
    session.commit()
    response = sign_in(client, "r@test.example", next_url=target)
    assert response.status_code == 302
    assert response.location == "/"


def test_sign_in_is_rate_limited_per_address(app_factory, session):
    app = app_factory(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [
        client.post("/login", data={"email": f"x{n}@test.example", "password": "wrong"})
        for n in range(4)
    ]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]  # wrong password
    assert answers[3].status_code == 429
    assert "Too many attempts" in answers[3].get_data(as_text=True)
    assert answers[3].headers["Retry-After"]
    # looking at the sign-in page is not counted
    assert client.get("/login").status_code == 200
    # another address is not affected
    other = client.post(
        "/login",
        data={"email": "y@test.example", "password": "wrong"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other.status_code == 401


def test_search_is_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, SEARCH_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert client.get("/services?q=G31").status_code == 200
    assert client.get("/services?q=G32").status_code == 200
    assert client.get("/services?q=G33").status_code == 429
    assert client.get("/").status_code == 200  # other pages are not limited


def test_oversized_upload_is_refused(app_factory, session):
    app = app_factory(MAX_CONTENT_LENGTH=64 * 1024)
    make_user(session, Role.ADMIN, email="u@test.example")
    session.commit()
    client = app.test_client()
    sign_in(client, "u@test.example")
    big = io.BytesIO(b"external_id,name\n" + b"x,y\n" * 40_000)
    response = upload_services(client, big)
    assert response.status_code == 413
    assert "That file is too large" in response.get_data(as_text=True)


def test_links_built_once_stay_few_whatever_script_roots_requests_claim(app, client):
    """Each script root a request arrives under gets its own links; a proxy passing on
    many different roots cannot make the kept links grow without end."""
    from referrals.templating import FIXED_URLS_KEPT

    for n in range(FIXED_URLS_KEPT):
        page = client.get("/", base_url=f"http://localhost/root{n}/")
        assert f'href="/root{n}/services"' in page.get_data(as_text=True)
    assert len(app.extensions["fixed_urls"]) <= FIXED_URLS_KEPT
