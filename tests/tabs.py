"""One signed-in person's session open in several tabs, each sending the same form at
the same moment (a double click, or a form sent again from another tab)."""

from __future__ import annotations

import threading

from .test_auth import sign_in


def tabs(app, email: str, count: int) -> list:
    """``count`` test clients sharing one signed-in session (the first signs in)."""
    first = app.test_client()
    sign_in(first, email)
    clients = [first]
    for _ in range(count - 1):
        other = app.test_client()
        other.set_cookie("session", first.get_cookie("session").value)
        clients.append(other)
    return clients


def post_at_once(clients: list, url: str, data: dict) -> list:
    """Every client posts ``data`` to ``url`` at the same moment; their answers."""
    barrier = threading.Barrier(len(clients))
    answers = []

    def post(client):
        barrier.wait()
        answers.append(client.post(url, data=data))

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers
