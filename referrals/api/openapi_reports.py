"""The report API's operations and answers in the OpenAPI description."""

from __future__ import annotations

from ..reports.measures import GROUPINGS, MEASURES, RATES
from .openapi_parts import (
    BAD_QUERY,
    BOOLEAN,
    DATE,
    FORBIDDEN,
    INTEGER,
    NUMBER,
    SECURED,
    STRING,
    UNAUTHORISED,
    array,
    nullable,
    obj,
    ok,
    query,
    ref,
)

REASON_CODES = [
    "small_count",
    "small_denominator",
    "secondary",
    "withdrawn",
    "withheld",
    "scotland_only",
    "not_published",
    "no_referrals",
]
AS_OF = query(
    "as_of",
    DATE,
    "The figures as published on that day (kept for 40 days, and the first of each month "
    "for good); default: today's.",
)
GROUPS = [g for g in GROUPINGS if g != "pathway"]
TABLE_MEASURES = [m.code for m in MEASURES.values() if not m.scotland_only]
PERIOD = query(
    "period",
    {"type": "string", "maxLength": 40},
    "A period code from /reports, like 12m-2026-09, 2026Q3, 2026-27 or 2026-09.",
)


def _report(summary: str, operation: str, schema: str, parameters: list) -> dict:
    return {
        "get": {
            "summary": summary,
            "operationId": operation,
            "security": SECURED,
            "parameters": parameters,
            "responses": {
                "200": ok(ref(schema)),
                "400": BAD_QUERY,
                "401": UNAUTHORISED,
                "403": FORBIDDEN,
            },
        }
    }


def report_paths() -> dict:
    return {
        "/reports": _report(
            "What can be asked for: periods, groupings, measures, groups of people",
            "getReportsIndex",
            "ReportsIndex",
            [AS_OF],
        ),
        "/reports/areas": _report(
            "Every area of a grouping for one period and group of people (the area report "
            "and its CSV)",
            "getAreaReport",
            "AreaReport",
            [
                query("group", {"type": "string", "enum": GROUPS}, "The areas; default council."),
                query(
                    "measure",
                    {"type": "string", "enum": TABLE_MEASURES},
                    "The measure the period and the targets are chosen for.",
                ),
                PERIOD,
                query(
                    "people",
                    {"type": "string", "maxLength": 40},
                    "all, or a group like sex:female (police divisions, health boards).",
                ),
                AS_OF,
            ],
        ),
        "/reports/national": _report(
            "The nation's figures for a period, by group of people, with reasons for closing "
            "and declining",
            "getNationalReport",
            "NationalReport",
            [PERIOD, AS_OF],
        ),
        "/reports/trends": _report(
            "One area's quarters and years beside the nation's",
            "getAreaTrends",
            "TrendsReport",
            [
                query(
                    "group",
                    {"type": "string", "enum": list(GROUPS[:4])},
                    "The kind of area; default council.",
                ),
                query("area", {"type": "string", "maxLength": 40}, "The area's code."),
                AS_OF,
            ],
        ),
        "/reports/quarterly": _report(
            "The quarterly report: the nation's quarter, council areas over the 12 months to "
            "its end, recent quarters",
            "getQuarterlyReport",
            "QuarterlyReport",
            [
                query("quarter", {"type": "string", "maxLength": 10}, "Like 2026Q3."),
                query("measure", {"type": "string", "enum": RATES}, "The rate compared."),
                AS_OF,
            ],
        ),
    }


FIGURES = {"type": "object", "additionalProperties": ref("ReportFigure")}
HEADER = {
    "as_of": DATE,
    "period": nullable(ref("ReportPeriod")),
    "settings": ref("ReportSettings"),
}
NAMED = obj(["code", "label"], code=STRING, label=STRING)

REPORT_SCHEMAS = {
    "ReportFigure": obj(
        [
            "value",
            "numerator",
            "denominator",
            "ci95",
            "ci998",
            "compared_with_national",
            "null_reason",
            "hidden",
        ],
        "One measure of one area. A figure not shown is null with its reason; hidden is "
        "true when it was withheld or not published (nothing of it is given).",
        value=nullable(NUMBER),
        numerator=nullable(INTEGER),
        denominator=nullable(INTEGER),
        ci95=nullable({**array(NUMBER), "minItems": 2, "maxItems": 2}),
        ci998=nullable({**array(NUMBER), "minItems": 2, "maxItems": 2}),
        compared_with_national=nullable(STRING),
        null_reason=nullable(
            obj(["code", "label"], code={"type": "string", "enum": REASON_CODES}, label=STRING)
        ),
        hidden=BOOLEAN,
    ),
    "ReportRow": obj(
        ["code", "name", "figures", "target"],
        code=STRING,
        name=STRING,
        figures=FIGURES,
        target=nullable(
            obj(
                ["measure", "value", "rag", "start", "end"],
                measure=STRING,
                value=NUMBER,
                rag=STRING,
                start=DATE,
                end=DATE,
            )
        ),
    ),
    "ReportPeriod": obj(
        ["code", "label", "kind", "start", "end"],
        code=STRING,
        label=STRING,
        kind={"type": "string", "enum": ["rolling_year", "financial_year", "quarter", "month"]},
        start=DATE,
        end=DATE,
        scotland_only=BOOLEAN,
        groups_of_people=BOOLEAN,
        measures_below_scotland=array(STRING),
        measures_for_scotland=array(STRING),
    ),
    "ReportSettings": obj(
        [
            "engagement_window_days",
            "treatment_window_days",
            "count_threshold",
            "min_denominator",
            "large_area_referrals",
        ],
        engagement_window_days=nullable(INTEGER),
        treatment_window_days=nullable(INTEGER),
        count_threshold=nullable(INTEGER),
        min_denominator=nullable(INTEGER),
        large_area_referrals=nullable(INTEGER),
    ),
    "ReportsIndex": obj(
        ["as_of", "settings", "periods", "groupings", "measures", "people"],
        **HEADER,
        latest_period=nullable(STRING),
        periods=array(ref("ReportPeriod")),
        groupings=array(NAMED),
        measures=array(
            obj(
                ["code", "label", "kind", "scotland_only"],
                code=STRING,
                label=STRING,
                kind=STRING,
                scotland_only=BOOLEAN,
            )
        ),
        people=array(STRING),
    ),
    "AreaReport": obj(
        ["as_of", "period", "settings", "areas", "national"],
        **HEADER,
        grouping=NAMED,
        people=STRING,
        measures=array(STRING),
        areas=array(ref("ReportRow")),
        national=nullable(ref("ReportRow")),
    ),
    "NationalReport": obj(
        ["as_of", "period", "settings", "national"],
        **HEADER,
        national=nullable(ref("ReportRow")),
        groups_of_people=array(
            obj(
                ["dimension", "label", "groups"],
                dimension=STRING,
                label=STRING,
                groups=array(ref("ReportRow")),
            )
        ),
        reasons={
            "type": "object",
            "additionalProperties": nullable(
                {
                    "type": "object",
                    "additionalProperties": obj(
                        ["value", "null_reason", "hidden"],
                        value=nullable(INTEGER),
                        null_reason=nullable(obj(["code", "label"], code=STRING, label=STRING)),
                        hidden=BOOLEAN,
                    ),
                }
            ),
        },
    ),
    "TrendsReport": obj(
        ["as_of", "settings", "grouping", "area", "quarters", "years"],
        **HEADER,
        grouping=NAMED,
        area=obj(["code", "name"], code=STRING, name=STRING),
        quarters=array(ref("ReportTrendPoint")),
        years=array(ref("ReportTrendPoint")),
    ),
    "ReportTrendPoint": obj(
        ["period", "national"],
        period=ref("ReportPeriod"),
        area=FIGURES,
        national=FIGURES,
    ),
    "QuarterlyReport": obj(
        ["as_of", "period", "settings", "national", "councils", "trend"],
        **HEADER,
        measure=STRING,
        national=nullable(ref("ReportRow")),
        councils=nullable(ref("AreaReport")),
        trend=array(ref("ReportTrendPoint")),
    ),
}
