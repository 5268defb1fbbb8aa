"""Who a service takes, as the referral form asks about it: only a clear mismatch."""

import pytest

from referrals.tracking.eligibility import eligibility_problem


@pytest.mark.parametrize(
    ("gender", "min_age", "max_age", "sex", "band", "problem"),
    [
        ("female", None, None, "male", "25_34", "takes women only"),
        ("male", None, None, "female", "25_34", "takes men only"),
        ("female", None, None, "not_known", "25_34", None),  # not known: not asked
        ("any", None, None, "male", "25_34", None),
        ("any", 18, None, "male", "under_18", "takes people aged 18 and over"),
        ("any", 21, None, "male", "18_24", None),  # the band straddles 21: may fit
        ("any", None, 25, "male", "35_44", "takes people aged up to 25"),
        ("any", None, 25, "male", "25_34", None),
        ("any", 16, 25, "female", "under_18", None),
    ],
)
def test_only_a_clear_mismatch_is_asked_about(gender, min_age, max_age, sex, band, problem):
    found = eligibility_problem("The service", gender, min_age, max_age, sex, band)
    assert (found is None) if problem is None else (problem in found)
