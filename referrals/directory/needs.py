"""Words people type for what they need, and the service types that meet each.

"naloxone", "needle exchange", "rehab" or "women" in the search box are read as needs
(``Need``), whatever else is typed with them. Each service type's own name and code
count too, so a type added to the taxonomy is found by its name without a change here.
"""

from __future__ import annotations

import re

from .filters import Need

# Words for each service type code (lower case; matched as whole words).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ost": (
        "ost",
        "mat",
        "methadone",
        "buprenorphine",
        "buvidal",
        "subutex",
        "espranor",
        "opioid substitution",
        "opiate substitution",
        "opioid replacement",
        "opiate replacement",
        "substitution",
        "medication assisted treatment",
        "medication-assisted treatment",
        "prescribing",
        "script",
    ),
    "psychosocial": ("psychosocial", "counselling", "counseling", "talking therapy"),
    "detox": ("detox", "detoxification", "withdrawal"),
    "residential_rehab": (
        "rehab",
        "residential rehab",
        "residential rehabilitation",
        "rehabilitation",
    ),
    "iep": (
        "needle exchange",
        "needle exchanges",
        "needles",
        "needle",
        "syringes",
        "syringe",
        "injecting equipment",
        "injecting equipment provision",
        "iep",
    ),
    "naloxone": ("naloxone", "nyxoid", "prenoxad", "overdose kit", "naloxone kit"),
    "drug_checking": ("drug checking", "drug testing", "pill testing"),
    "safer_consumption": (
        "safer consumption",
        "consumption room",
        "drug consumption room",
        "safer drug consumption",
        "injecting room",
    ),
    "recovery_community": (
        "recovery",
        "recovery community",
        "recovery cafe",
        "peer support",
        "mutual aid",
    ),
    "hat": ("hat", "heroin assisted", "heroin-assisted", "diamorphine"),
    "alcohol": ("alcohol", "drinking", "drink"),
    "mental_health": ("mental health", "anxiety", "depression"),
    "housing": ("housing", "homeless", "homelessness", "accommodation"),
    "bbv": (
        "bbv",
        "blood borne virus",
        "blood-borne virus",
        "hepatitis",
        "hep c",
        "hiv",
    ),
    "womens": ("women", "woman", "womens", "women's", "female", "ladies"),
    "family": ("family", "families", "family support", "carers"),
    "young_people": ("young people", "young person", "youth", "teenager", "teenagers"),
    "veterans": ("veteran", "veterans", "armed forces", "ex-forces", "forces"),
}
# A need for women is also met by a service for women only, whatever its types.
GENDER_OF = {"womens": "female"}
# Words that say nothing about the need or the place.
FILLER = frozenset(
    (
        "a",
        "an",
        "and",
        "any",
        "for",
        "find",
        "i",
        "in",
        "me",
        "my",
        "need",
        "needs",
        "near",
        "nearest",
        "of",
        "please",
        "service",
        "services",
        "support",
        "the",
        "to",
        "where",
        "with",
        "help",
    )
)


def _norm(text: str) -> str:
    text = text.casefold().replace("\u2019", "'")
    return " ".join(re.sub(r"[^\w'\-]+", " ", text).split())


def vocabulary(types: list[tuple[str, str]]) -> dict[str, str]:
    """Phrase -> type code, from the synonyms and the types' own (code, name) pairs."""
    phrases: dict[str, str] = {}
    for code, name in types:
        phrases[_norm(name)] = code
        phrases[_norm(code.replace("_", " "))] = code
        for part in re.split(r"\s*/\s*", name):
            phrases[_norm(part)] = code
    for code, words in SYNONYMS.items():
        if any(code == c for c, _ in types):
            for word in words:
                phrases[_norm(word)] = code
    return phrases


def find_needs(text: str, phrases: dict[str, str]) -> tuple[list[Need], list[str]]:
    """The needs named in ``text`` (longest phrases first), and the words left over."""
    words = _norm(text).split()
    longest = max((len(p.split()) for p in phrases), default=1)
    needs: list[Need] = []
    left: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            code = phrases.get(phrase)
            if code is not None:
                if all(code not in n.types for n in needs):
                    needs.append(Need(phrase, (code,), GENDER_OF.get(code)))
                i += size
                break
        else:
            left.append(words[i])
            i += 1
    return needs, left
