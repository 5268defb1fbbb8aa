"""Whether the person fits who the chosen service takes (its listing's gender and ages),
asked before a referral is made: a referral the service cannot take is one it can only
decline, and the person waits for nothing.

Only a clear mismatch is asked about: a service for women and a man, or an age band
wholly outside the service's ages (a band that straddles its youngest or oldest age may
fit). Listings can be out of date, so the referrer may make the referral anyway.
"""

from __future__ import annotations

from ..choices import AgeBand, Gender, Sex

# The ages in each band, youngest and oldest.
BAND_AGES = {
    AgeBand.UNDER_18: (0, 17),
    AgeBand.AGE_18_24: (18, 24),
    AgeBand.AGE_25_34: (25, 34),
    AgeBand.AGE_35_44: (35, 44),
    AgeBand.AGE_45_54: (45, 54),
    AgeBand.AGE_55_64: (55, 64),
    AgeBand.AGE_65_PLUS: (65, 150),
}
TAKES = {Gender.FEMALE: (Sex.FEMALE, "women"), Gender.MALE: (Sex.MALE, "men")}


def eligibility_problem(
    name: str,
    gender: object,
    min_age: int | None,
    max_age: int | None,
    sex: object,
    age_band: object,
) -> str | None:
    """What about the person does not fit the service called ``name``, in words for
    the referrer; ``None`` when nothing clearly does not."""
    takes = TAKES.get(Gender.of(gender))
    person = Sex.of(sex)
    if takes is not None and person in (Sex.FEMALE, Sex.MALE) and person != takes[0]:
        return (
            f"{name} takes {takes[1]} only, and this person is recorded as {person.label.lower()}."
        )
    band = AgeBand.of(age_band)
    if band is None:
        return None
    youngest, oldest = BAND_AGES[band]
    aged = band.label.lower()
    if min_age is not None and oldest < min_age:
        return f"{name} takes people aged {min_age} and over, and this person is {aged}."
    if max_age is not None and youngest > max_age:
        return f"{name} takes people aged up to {max_age}, and this person is {aged}."
    return None
