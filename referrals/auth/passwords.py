"""The password rule, in one place: long enough and not an obvious one."""

from __future__ import annotations

MIN_LENGTH = 12
COMMON = {
    "password1234",
    "password12345",
    "123456789012",
    "qwertyuiop12",
    "letmein12345",
    "welcome12345",
    "passwordpassword",
    "changeme1234",
    "police123456",
    "scotland1234",
    "demo-password",
}


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is not acceptable, in words a user can act on; ``None`` if fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few unrelated words work well."
    if password.lower() in COMMON:
        return "That password is too common. Choose something less guessable."
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        return "Do not put your email address in your password."
    return None
