"""How the reports write what they show: the report choices' lists exactly as WTForms
writes them, links built once with each area's code put in (and codes that URL-encoding
changes built one by one), and each kind of figure's cell saying why a figure is hidden."""

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
from flask import url_for
from markupsafe import Markup
from wtforms import Form, SelectField

from referrals.extensions import db
from referrals.form_html import QuickRendering
from referrals.forms import options
from referrals.reports.area_lines import Line, rows_html
from referrals.reports.cells import (
    comparison_legend,
    count_cell,
    hidden_note,
    rate_cell,
    state_badge,
)
from referrals.reports.charts import BarChart, bar_chart_svg, bar_rows_svg
from referrals.reports.colours import RAG_SYMBOLS, STATES, SUPPRESSED
from referrals.reports.links import each_url, profile_urls, report_urls
from referrals.reports.measures import MEASURES
from referrals.reports.params import KeptSelect
from referrals.reports.tables import CountFigure, RateFigure, tenths_of_percent
from referrals.statement_count import counting
from referrals.statistics import Comparison

from .test_auth import sign_in
from .test_reports import data  # noqa: F401 - the reports' referrals and lead

CHOICES = [
    ("", "Everybody"),
    ("sex:female", "Sex: Women"),
    ("a&b", 'Tom & "Jerry" <script>'),
    ("12m-2026-09", "12 months to September 2026 (12m-2026-09)"),
]


class Stock(Form):
    period = SelectField(choices=options(CHOICES))
    wide = SelectField(choices=options(CHOICES))


class Data:
    def __init__(self, **values):
        self.values = values

    def __iter__(self):
        return iter(self.values)

    def __contains__(self, key):
        return key in self.values

    def getlist(self, key):
        return [self.values[key]] if key in self.values else []


class Quick(Form):
    """Written as the report choices are (``ReportForm``)."""

    class Meta(QuickRendering):
        pass

    period = SelectField(choices=options(CHOICES), widget=KeptSelect())
    wide = SelectField(choices=options(CHOICES), widget=KeptSelect())


class FewerStock(Form):
    period = SelectField(choices=options(CHOICES[:2]))
    wide = SelectField(choices=options(CHOICES[1:]))


class FewerQuick(Quick):
    period = SelectField(choices=options(CHOICES[:2]), widget=KeptSelect())
    wide = SelectField(choices=options(CHOICES[1:]), widget=KeptSelect())


def test_report_form_selects_are_written_as_wtforms_writes_them_each_time():
    # Twice over: the second time each select comes from the one kept for the same
    # choices, selection and attributes, which must not leak one into another.
    for _ in range(2):
        for given in ({}, {"period": "a&b"}, {"period": "sex:female", "wide": "12m-2026-09"}):
            for quick_form, stock_form in ((Quick, Stock), (FewerQuick, FewerStock)):
                quick, stock = quick_form(Data(**given)), stock_form(Data(**given))
                for name in ("period", "wide"):
                    kwargs = {"class_": "wide", "aria-describedby": "period-hint"}
                    assert str(quick[name](**kwargs)) == str(stock[name](**kwargs))
                    assert str(quick[name]()) == str(stock[name]())


def test_links_put_each_code_into_one_built_url_and_build_the_odd_ones_one_by_one(app):
    codes = ["S12000049", "GLA-LR", "demo-svc-0119", "a b/c", "caf\u00e9", "x?y=1&z"]
    with app.test_request_context("/reports/areas?group=service&measure=referrals&sort=x"):
        links = profile_urls("service", codes, "12m-2026-09")
        for code in codes:
            expected = url_for(
                "reports.area_profile", grouping="service", code=code, period="12m-2026-09"
            )
            assert links[code] == expected
        measures = report_urls(
            "reports.area_report", "measure", ["acceptance_rate", "a b"], sort=None
        )
        assert measures["acceptance_rate"] == url_for(
            "reports.area_report", group="service", measure="acceptance_rate"
        )
        assert measures["a b"] == url_for("reports.area_report", group="service", measure="a b")
        sorts = report_urls("reports.area_report", "sort", ["name:desc", "referrals:desc"])
        assert sorts["name:desc"].endswith("sort=name:desc")
        calls = []

        def build(value):
            calls.append(value)
            return f"/x/{value.replace(' ', '%20')}"

        assert each_url(build, ["a", "b", "c d"]) == {"a": "/x/a", "b": "/x/b", "c d": "/x/c%20d"}
        assert calls == ["__each__", "c d"]


def test_each_kind_of_figure_says_what_it_is_or_why_it_is_hidden(app):
    with app.test_request_context("/"):
        assert str(count_cell(CountFigure(1234))) == "1,234"
        small = str(count_cell(CountFigure(None, "<5")))
        assert 'class="label-primary" title="Small numbers">&lt;5<' in small
        secondary = str(count_cell(CountFigure(None, "[c]")))
        assert 'title="Hidden so that another figure cannot be worked out">[c]<' in secondary
        missing = str(count_cell(CountFigure(None, missing="published for Scotland only")))
        assert '<span class="visually-hidden"> published for Scotland only</span>' in missing
        rate = str(rate_cell(RateFigure("conversion_rate", 30, 120, national=0.2)))
        assert '<span class="rate">25.0%</span><br><span class="ci">' in rate
        assert "18.1 to 33.4%" in rate
        assert "ci" not in str(rate_cell(RateFigure("conversion_rate", 30, 120), False))
        nobody = str(rate_cell(RateFigure("conversion_rate", 0, 0)))
        assert '<span class="muted">no referrals</span>' in nobody
        badge = str(state_badge(STATES[Comparison.HIGHER_95]))
        assert "state-higher_95" in badge and "\u25b2 Higher than" in badge
        assert 'aria-hidden="true"' in badge


def test_the_area_table_reads_the_days_figures_in_a_few_statements(app, client, data):  # noqa: F811
    """Beyond who is signed in and the nation's settings: the day's snapshot row, then
    the areas' names, the targets, the lead's own councils and services per area in one
    statement (and a lead's ADPs, or the services with figures, where the table lists
    them); the stored figures themselves and the lists of choices are read once per
    snapshot."""
    sign_in(client, "lead@t.example")
    for url in ("/reports/areas", "/reports/areas?group=adp", "/reports/areas?group=service"):
        for _ in range(2):  # the day's figures worked out, then read once
            assert client.get(url).status_code == 200
        with app.app_context():
            engine = db.engine
        with counting(engine) as seen:
            page = client.get(url)
        assert page.status_code == 200
        assert not [s for s in seen.sql if "report_parts" in s or "facts" in s]
        limit = {"/reports/areas": 4}.get(url, 5)
        assert seen.count <= limit, str(seen)
    assert "Glasgow City" in client.get("/reports/areas").get_data(as_text=True)


def test_a_rate_reads_as_a_reader_dividing_the_counts_would_round_it():
    """Halves go up, worked out exactly: 51 of 80 is 63.75%, shown 63.8% (in floating
    point it comes out a hair under, and read 63.7% beside a CSV giving 51 and 80)."""
    assert tenths_of_percent(51, 80) == 638
    assert tenths_of_percent(1, 80) == 13
    for n in range(1, 401):
        for x in range(n + 1):
            exact = (Decimal(1000 * x) / Decimal(n)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            assert tenths_of_percent(x, n) == int(exact), (x, n)


# The area table's rows as the template wrote them before ``rows_html`` did, kept to
# check that the rows' markup is unchanged.
FORMER_ROWS = """\
{% for line in lines %}
  {% set row = line.row %}
  <tr class="{{ line.css }}">
    <th scope="row">{% if not row.national %}<a href="{{ line.href }}">{{ row.name }}</a>{% if line.mine %} <span class="own-tag">Your area</span>{% endif %}{% else %}{{ row.name }}{% endif %}</th>
    <td class="num">{{ line.made }}</td>
    {% if choices.measure != 'referrals' %}<td class="num">{{ line.value }}</td>{% endif %}
    {% if m.kind == 'rate' %}<td>{{ line.badge }}</td>{% endif %}
    <td>{% if row.target %}{{ row.target.text }} <span class="rag rag-{{ row.target.rag|replace(' ', '-') }}">{{ RAG_SYMBOLS[row.target.rag] }} {{ row.target.rag|capitalize }}</span>{% endif %}</td>
    {% if provision %}<td class="num">{{ line.provision }}</td>{% endif %}
  </tr>
  {% endfor %}"""  # noqa: E501


def _line(name, *, national=False, mine=False, rag=None, css="", provision="1.5"):
    target = SimpleNamespace(text="50%", rag=rag) if rag else None
    row = SimpleNamespace(name=name, national=national, target=target)
    return Line(
        row,
        css,
        "" if national else "/reports/profile/council/S1?period=12m&x=<1>",
        mine,
        Markup("1,234"),
        Markup('\n<span class="rate">43.8%</span>\n\n'),
        Markup('<span class="state">▲ Higher</span>') if not national else Markup(""),
        provision,
    )


LINES = [
    _line('Aberdeen & "Dee" <City>', rag="red"),
    _line("O'Mine", mine=True, css="own-row", rag="not shown", provision=""),
    _line("Angus", rag="amber"),
    _line("Fife", rag="green"),
    _line("Scotland", national=True, css="national-row"),
]


@pytest.mark.parametrize("measure", ["engagement_rate", "referrals", "median_days_to_treatment"])
@pytest.mark.parametrize("provision", [True, False])
def test_area_table_rows_are_the_former_templates(app, measure, provision):
    former = app.jinja_env.from_string(FORMER_ROWS).render(
        lines=LINES,
        choices=SimpleNamespace(measure=measure),
        m=MEASURES[measure],
        provision={"x": 1} if provision else {},
        RAG_SYMBOLS=RAG_SYMBOLS,
    )
    assert str(rows_html(LINES, measure, provision)) == former


def test_a_funnel_point_marked_outside_a_limit_is_drawn_outside_it():
    """The comparison uses the exact rates; drawn at rates rounded to 0.1% around a
    rounded national rate, this area (52.04%, "higher at 95%") sat inside the 95% line."""
    from itertools import pairwise
    from types import SimpleNamespace

    from referrals.reports.charts import funnel_plot
    from referrals.reports.tables import RateFigure
    from referrals.statistics import Comparison

    p0 = 5005 / 10000  # shown as 50.1%
    area = RateFigure("engagement_rate", 1301, 2500, national=p0)
    assert area.comparison == Comparison.HIGHER_95
    table = SimpleNamespace(
        rows=[SimpleNamespace(name="Area", rates={"engagement_rate": area})],
        national=SimpleNamespace(
            rates={"engagement_rate": RateFigure("engagement_rate", 5005, 10000, national=p0)}
        ),
    )
    plot = funnel_plot(table, "engagement_rate", "Engagement")
    [point] = plot.points
    line = [
        tuple(float(v) for v in pair.split(","))
        for pair in plot.limits["95_high"].lstrip("M").split(" L")
    ]
    (x1, y1), (x2, y2) = next((a, b) for a, b in pairwise(line) if a[0] <= point.x <= b[0])
    limit_y = y1 + (y2 - y1) * (point.x - x1) / (x2 - x1)
    assert point.y < limit_y - 0.2  # above the line (SVG's y grows downwards)


# The bar chart, the key and the note of hidden figures as the macros wrote them before
# ``charts`` and ``cells`` did, kept to check that their markup is unchanged.
FORMER_CHART = """{% macro bar_chart_svg(chart) %}
<figure class="chart">
<svg viewBox="0 0 {{ chart.width }} {{ chart.height }}" width="100%" role="img" aria-labelledby="bars-title bars-desc" class="bar-chart">
  <title id="bars-title">{{ chart.title }}</title>
  <desc id="bars-desc">Areas ranked from highest to lowest, each bar with its 95% interval; the dashed line is {{ national_name }} at {{ chart.national_text }}. The table above has the same figures.</desc>
  {% for x, label in chart.ticks %}
  <line x1="{{ x }}" x2="{{ x }}" y1="22" y2="{{ chart.height - 18 }}" class="grid"/>
  <text x="{{ x }}" y="{{ chart.height - 4 }}" text-anchor="middle" class="tick">{{ label }}</text>
  {% endfor %}
  {{ bars }}
  {% if chart.national_x is not none %}
  <line x1="{{ chart.national_x }}" x2="{{ chart.national_x }}" y1="18" y2="{{ chart.height - 18 }}" class="national"/>
  <text x="{{ chart.national_x + 4 }}" y="14" class="national-label">{{ national_name }} {{ chart.national_text }}</text>
  {% endif %}
</svg>
{% if chart.omitted %}<figcaption class="muted">Not drawn: {% for name, why in chart.omitted %}{{ name }} ({{ why }}){{ '; ' if not loop.last else '.' }}{% endfor %}</figcaption>{% endif %}
</figure>
{% endmacro %}{{ bar_chart_svg(chart) }}"""  # noqa: E501
FORMER_KEY = """{% macro comparison_legend() %}
<ul class="legend-list" aria-label="What the colours mean">
  {% for state in STATES.values() %}
  <li><span class="state-swatch" style="background: {{ state.colour }}" aria-hidden="true"></span> <span aria-hidden="true">{{ state.symbol }}</span> {{ state.label }}</li>
  {% endfor %}
  <li><span class="state-swatch swatch-hatched" style="background-color: {{ SUPPRESSED.colour }}" aria-hidden="true"></span> {{ SUPPRESSED.label }}</li>
</ul>
{% endmacro %}{{ comparison_legend() }}"""  # noqa: E501
FORMER_HIDDEN = """{% macro hidden_note(hidden) %}
{% if hidden %}
<div class="hidden-note">
<p><strong>Figures not shown here, and why:</strong></p>
<ul>
{% for label, count, meaning in hidden %}<li><span class="label-{{ 'secondary' if label == '[c]' or label == 'not published' else 'primary' }}">{{ label }}</span>: {{ count }} {{ 'figure' if count == 1 else 'figures' }}: {{ meaning }}.</li>{% endfor %}
</ul>
</div>
{% endif %}
{% endmacro %}{{ hidden_note(hidden) }}"""  # noqa: E501


@pytest.mark.parametrize("omitted", [[], [("Fife", "small numbers"), ("A & <B>", "no referrals")]])
@pytest.mark.parametrize("national_x", [None, 512.25])
def test_the_bar_chart_key_and_hidden_note_are_the_former_macros(app, omitted, national_x):
    chart = BarChart(
        width=760,
        height=116,
        left=230,
        bars=[],
        national_x=national_x,
        national_text="43.8%",
        ticks=[(230.0, "0%"), (361.25, "20%")],
        omitted=omitted,
        title='Conversion "rate" by council & <area>',
    )
    with app.test_request_context("/"):
        former = app.jinja_env.from_string(FORMER_CHART).render(
            chart=chart, national_name="Scotland", bars=bar_rows_svg(chart)
        )
        assert str(bar_chart_svg(chart, "Scotland")) == former
        key = app.jinja_env.from_string(FORMER_KEY).render(STATES=STATES, SUPPRESSED=SUPPRESSED)
        assert str(comparison_legend()) == key
        for hidden in ([], [("<5", 1, "counts from 1 to 4"), ("[c]", 12, "hidden & <so>")]):
            former = app.jinja_env.from_string(FORMER_HIDDEN).render(hidden=hidden)
            assert str(hidden_note(hidden)) == former
