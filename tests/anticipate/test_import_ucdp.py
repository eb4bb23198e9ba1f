"""UCDP data into a real node's store (SQLite and PostgreSQL): the shipped Sahel-Maghreb
country-month file, the shared wide table, GED event rows; series built from them equal
the files' sums; a second import writes nothing; revised figures make new versions; every
bad row is refused with its file, line and column, and nothing is written."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.anticipate import ucdp
from diapason.anticipate.events import store_series
from diapason.anticipate.periods import format_period
from diapason.anticipate.series import SeriesError
from diapason.anticipate.ucdp import (
    ATTRIBUTION,
    UCDP_IDENTITY_ID,
    Parsed,
    UcdpError,
    import_ucdp,
    read_ucdp,
    record_id,
    shipped_path,
    ucdp_identity,
)
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import TLP_2_0_IDS, diapason_id
from diapason.domain.grading import grading_of, is_osint
from diapason.node import Node
from diapason.store.interface import Query
from tests.anticipate.test_cli_anticipate import run
from tests.shared import DATA
from tests.web.site import make_node

CODES = {
    "Mali": "ML",
    "Niger": "NE",
    "Burkina Faso": "BF",
    "Chad": "TD",
    "Mauritania": "MR",
    "Algeria": "DZ",
    "Libya": "LY",
    "Morocco": "MA",
    "Tunisia": "TN",
}
GED_HEADER = (
    "id,relid,year,active_year,code_status,type_of_violence,conflict_dset_id,conflict_new_id,"
    "conflict_name,dyad_dset_id,dyad_new_id,dyad_name,side_a_dset_id,side_a_new_id,side_a,"
    "side_b_dset_id,side_b_new_id,side_b,number_of_sources,source_article,source_office,"
    "source_date,source_headline,source_original,where_prec,where_coordinates,"
    "where_description,adm_1,adm_2,latitude,longitude,geom_wkt,priogrid_gid,country,"
    "country_id,region,event_clarity,date_prec,date_start,date_end,deaths_a,deaths_b,"
    "deaths_civilians,deaths_unknown,best,high,low,gwnoa,gwnob"
)


def ged_row(event: int, day: str, country: str, best: int, **cells: str) -> str:
    values = dict.fromkeys(GED_HEADER.split(","), "")
    values.update(
        id=str(event),
        year=day[:4],
        type_of_violence="3",
        conflict_name="JNIM - civilians",
        side_a="JNIM",
        side_b="Civilians",
        source_article='"Reuters,2023-01-02"',
        where_prec="1",
        adm_1="Gao region",
        latitude="16.27",
        longitude="-0.04",
        country=country,
        country_id="432",
        region="Africa",
        date_prec="1",
        date_start=f"{day} 00:00:00.000",
        date_end=f"{day} 00:00:00.000",
        best=str(best),
        low=str(best),
        high=str(best + 2),
    )
    values.update(cells)
    return ",".join(values.values())


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    made = make_node(tmp_path / "node", database_url)
    yield made
    made.close()


def csv_sums(path: Path) -> dict[tuple[str, str], int]:
    """(ISO country, YYYY-MM) -> deaths, read from the long file with the csv module."""
    sums: dict[tuple[str, str], int] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            sums[(CODES[row["country"]], row["month_end"][:7])] = int(row["best_deaths"])
    return sums


def events(node: Node) -> list[dict[str, object]]:
    page = node.store.query(Query(types=(EVENT_TYPE,), limit=100_000))
    return [stored.object for stored in page.objects]


def test_shipped_file_feeds_series_equal_to_its_sums(node: Node) -> None:
    parsed = read_ucdp(shipped_path())
    assert parsed.format == "country-month"
    imported = import_ucdp(node.store, node.audit, parsed, actor="tests")
    sums = csv_sums(shipped_path())
    non_zero = sum(1 for value in sums.values() if value)
    assert imported.records == non_zero == 1106
    assert imported.written == non_zero + 1  # and the UCDP identity
    found = store_series(node.store, [*CODES.values(), "sahel-saharan"], ["deaths", "all"])
    by_name = {series.name: series for series in found.series}
    for code in CODES.values():
        series = by_name[f"{code}/deaths"]
        for offset, count in enumerate(series.counts):
            assert count == sums.get((code, series.label(offset)), 0), (code, offset)
        assert series.counts.sum() == sum(v for (c, _), v in sums.items() if c == code)
        assert by_name[f"{code}/all"].counts.sum() == 0  # aggregates are not events
    region = by_name["sahel-saharan/deaths"]
    assert region.counts.sum() == sum(v for (c, _), v in sums.items() if c not in ("MA", "TN"))
    assert format_period(region.end, "month") == "2023-12"
    # Each record: graded B2 and open source, TLP:CLEAR, by UCDP, attributed.
    held = events(node)
    assert len(held) == non_zero
    for obj in held:
        grading = grading_of(obj)
        assert grading is not None and grading.code == "B2" and is_osint(obj)
        assert obj["object_marking_refs"] == [TLP_2_0_IDS["clear"]]
        assert obj["created_by_ref"] == UCDP_IDENTITY_ID
        reference = obj["external_references"][0]  # type: ignore[index]
        assert "CC BY 4.0" in reference["description"] and ATTRIBUTION in reference["description"]
    identity = node.store.get(UCDP_IDENTITY_ID)
    assert identity is not None and identity.object["name"] == "Uppsala Conflict Data Program"
    entries = node.audit.entries(action="import", actor="tests", limit=100)
    assert sum(len(entry.object_ids) for entry in entries) == non_zero + 1


def test_a_second_import_writes_nothing(node: Node) -> None:
    parsed = read_ucdp(shipped_path())
    import_ucdp(node.store, node.audit, parsed, actor="tests")
    count = node.store.count()
    audited = len(node.audit.entries(action="import", limit=1000))
    again = import_ucdp(node.store, node.audit, read_ucdp(shipped_path()), actor="tests")
    assert (again.written, again.unchanged, again.revised) == (0, 1107, 0)
    assert node.store.count() == count
    assert len(node.audit.entries(action="import", limit=1000)) == audited


def test_the_wide_table_holds_the_same_records_as_the_long_file() -> None:
    wide = read_ucdp(DATA / "ucdp" / "country_month_fatalities_1989_2023.csv")
    assert wide.format == "country-month-wide"
    assert wide.notes == ["1 column(s) without a country name, all zero, left out"]
    long = read_ucdp(shipped_path())
    sahel = {
        record.key: record.deaths for record in wide.records if record.country in CODES.values()
    }
    assert sahel == {record.key: record.deaths for record in long.records}
    assert {record.country for record in wide.records} >= {"CD", "RU", "YE", "SY", "AF"}


def test_a_wide_fixture_imports_and_sums(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(
        ",Mali,DR Congo (Zaire),Niger\r\n"
        "2023-01-31,5,0,2\r\n2023-02-28,0,7,0\r\n2023-03-31,9,1,0\r\n",
        encoding="utf-8",
    )
    parsed = read_ucdp(path)
    assert (parsed.format, len(parsed.records), len(parsed.zeros)) == ("country-month-wide", 5, 4)
    import_ucdp(node.store, node.audit, parsed, actor="tests")
    found = store_series(node.store, ["ML", "CD", "NE"], ["deaths"])
    assert {s.name: s.counts.tolist() for s in found.series} == {
        "CD/deaths": [0, 7, 1],
        "ML/deaths": [5, 0, 9],
        "NE/deaths": [2, 0, 0],
    }
    with pytest.raises(SeriesError, match=r"ML/deaths: .* cannot be split into weeks"):
        store_series(node.store, ["ML"], ["deaths"], "week")
    # Counted by month, the months are deaths, never events.
    assert store_series(node.store, ["ML"], ["all", "deaths"]).series[0].counts.sum() == 0


def test_ged_events_count_as_events_and_deaths(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "ged.csv"
    rows = [
        ged_row(101, "2023-01-02", "Mali", 12),
        ged_row(102, "2023-01-20", "Mali", 3, adm_1="Mopti region"),
        ged_row(103, "2023-03-05", "Burkina Faso", 40, type_of_violence="1"),
        ged_row(104, "2023-03-06", "Mali", 0),
    ]
    path.write_text("\n".join([GED_HEADER, *rows]) + "\n", encoding="utf-8")
    parsed = read_ucdp(path)
    assert parsed.format == "ged" and len(parsed.records) == 4
    imported = import_ucdp(node.store, node.audit, parsed, actor="tests")
    assert imported.written == 5
    found = store_series(node.store, ["ML", "BF", "ML/Gao region"], ["all", "deaths"])
    got = {s.name: s.counts.tolist() for s in found.series}
    assert got["ML/all"] == [2, 0, 1]
    assert got["ML/deaths"] == [15, 0, 0]
    assert got["BF/deaths"] == [0, 0, 40]
    assert got["ML/Gao region/all"] == [1, 0, 1]
    stored = node.store.get(record_id("ged:103"))
    assert stored is not None
    obj = stored.object
    assert obj["plover_type"] == "ASSAULT" and obj["event_date"] == "2023-03-05"
    assert obj["ucdp_type_of_violence"] == "state-based conflict"
    assert obj["ucdp_side_a"] == "JNIM" and obj["ucdp_source_article"] == "Reuters,2023-01-02"
    assert (obj["ucdp_latitude"], obj["ucdp_where_prec"], obj["deaths_high"]) == (16.27, 1, 42)
    # Valid STIX 2.1 (the validator only warns: UUIDv5 ids, a web page without a hash).
    for checked in (obj, events(node)[0], ucdp_identity()):
        result = validate_instance(checked, ValidationOptions(strict=False))
        assert result.is_valid, [str(error) for error in result.errors]


def test_events_without_deaths_do_not_stretch_a_deaths_series(node: Node, tmp_path: Path) -> None:
    """An article's event months after the UCDP history say nothing of deaths: the deaths
    series ends with the history (no months of made-up zeros), the events series runs on."""
    path = tmp_path / "ged.csv"
    rows = [ged_row(101, "2023-01-02", "Mali", 12), ged_row(102, "2023-02-20", "Mali", 0)]
    path.write_text("\n".join([GED_HEADER, *rows]) + "\n", encoding="utf-8")
    import_ucdp(node.store, node.audit, read_ucdp(path), actor="tests")
    article_event = {
        "type": EVENT_TYPE,
        "spec_version": "2.1",
        "id": f"{EVENT_TYPE}--0b5d6c1e-8f39-4a4e-9d6a-3f1c2b7a9e10",
        "created": "2024-06-01T00:00:00.000Z",
        "modified": "2024-06-01T00:00:00.000Z",
        "extensions": {diapason_id("extension-definition", "event"): {"extension_type": "new-sdo"}},
        "name": "CONSULT",
        "plover_type": "CONSULT",
        "event_date": "2024-06-01",
        "country": "ML",
    }
    node.store.put_many([article_event], source="tests")
    (deaths,) = store_series(node.store, ["ML"], ["deaths"]).series
    assert deaths.counts.tolist() == [12, 0]
    assert format_period(deaths.end, "month") == "2023-02"
    (counted,) = store_series(node.store, ["ML"], ["all"]).series
    assert format_period(counted.end, "month") == "2024-06"
    assert counted.counts.sum() == 3  # two UCDP events and the article's


@pytest.mark.parametrize("few", [50, 0])  # held versions read one by one, or in pages
def test_revised_figures_make_new_versions_and_zeros_revoke(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    monkeypatch.setattr(ucdp, "_FEW", few)
    path = tmp_path / "long.csv"
    path.write_text(
        "month_end,country,best_deaths\n2023-01-31,Mali,5\n2023-02-28,Mali,8\n", encoding="utf-8"
    )
    import_ucdp(node.store, node.audit, read_ucdp(path), actor="tests")
    path.write_text(
        "month_end,country,best_deaths\n2023-01-31,Mali,6\n2023-02-28,Mali,0\n", encoding="utf-8"
    )
    again = import_ucdp(node.store, node.audit, read_ucdp(path), actor="tests")
    assert (again.revised, again.revoked, again.written) == (1, 1, 2)
    january = node.store.versions(record_id("country-month:ML:2023-01"))
    assert [v.object["deaths_best"] for v in january] == [5, 6]
    assert january[1].object["created"] == january[0].object["created"]
    february = node.store.get(record_id("country-month:ML:2023-02"))
    assert february is not None and february.revoked
    assert store_series(node.store, ["ML"], ["deaths"]).series[0].counts.tolist() == [6]


BAD = [
    (
        "month_end,country,best_deaths\n2023-01-31,Mali,1\n2023-02-30,Mali,1\n",
        "line 3, column 'month_end': '2023-02-30' is not a date",
    ),
    (
        "month_end,country,best_deaths\n2023-05-15,Mali,1\n",
        "line 2, column 'month_end': '2023-05-15' is not the last day of its month "
        "(expected 2023-05-31)",
    ),
    (
        "month_end,country,best_deaths\n2023-01-31,Mali,1\n2023-02-28,Niger,-4\n",
        "line 3, column 'best_deaths': '-4' is negative",
    ),
    (
        "month_end,country,best_deaths\n2023-01-31,Atlantis,1\n",
        "line 2, column 'country': unknown country 'Atlantis'",
    ),
    (
        "month_end,country,best_deaths\n2023-01-31,Mali,1\n2023-01-31,Mali,2\n",
        "line 3, column 'country': Mali 2023-01 already given on line 2",
    ),
    (
        "month_end,country\n2023-01-31,Mali\n",
        "line 1, column 'best_deaths': header is 'month_end,country'",
    ),
    (",Mali,Wakanda\n2023-01-31,1,0\n", "line 1, column 'Wakanda': unknown country 'Wakanda'"),
    (",Mali\n2023-01-31,2.5\n", "line 2, column 'Mali': '2.5' is not a whole number"),
    (
        GED_HEADER.replace(",best,", ",best_estimate,") + "\n",
        "line 1, column 'best': missing",
    ),
    (
        GED_HEADER + "\n" + ged_row(1, "2023-01-02", "Mali", 1, type_of_violence="4") + "\n",
        "line 2, column 'type_of_violence': '4' is not 1, 2 or 3",
    ),
    (
        GED_HEADER + "\n" + ged_row(1, "2023-01-02", "Mali", 1, latitude="123") + "\n",
        "line 2, column 'latitude': '123' is outside -90 to 90",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_rows_are_refused_precisely_and_nothing_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UcdpError) as caught:
        read_ucdp(path)
    assert any(problem.startswith(f"{path} {expected}") for problem in caught.value.problems), (
        caught.value.problems
    )


def test_every_problem_is_listed_and_the_file_refused_whole(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    lines = ["month_end,country,best_deaths"]
    lines += [f"2023-{month:02d}-28,Mali,{month}" for month in range(1, 13)]  # all but Feb bad
    lines += ["2023-01-31,Mali,-1"] * 30
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = node.store.count()
    with pytest.raises(UcdpError) as caught:
        read_ucdp(path)
    assert len(caught.value.problems) == 20 and caught.value.more > 0
    assert "line 2, column 'month_end'" in caught.value.problems[0]
    assert node.store.count() == before


def test_a_header_of_no_known_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("period,series,count\n2023-01,ML,3\n", encoding="utf-8")
    with pytest.raises(UcdpError, match="line 1: header 'period,series,count' is not a UCDP"):
        read_ucdp(path)
    assert isinstance(read_ucdp(shipped_path(), "country-month"), Parsed)


def test_the_series_counts_the_deaths_of_each_month_once(node: Node, tmp_path: Path) -> None:
    """Two files of one history (the long and a wide subset) are the same records."""
    import_ucdp(node.store, node.audit, read_ucdp(shipped_path()), actor="tests")
    path = tmp_path / "wide.csv"
    sums: defaultdict[str, int] = defaultdict(int)
    with shipped_path().open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["country"] == "Mali" and row["month_end"].startswith("2023"):
                sums[row["month_end"]] += int(row["best_deaths"])
    path.write_text(
        ",Mali\n" + "".join(f"{day},{count}\n" for day, count in sums.items()), encoding="utf-8"
    )
    again = import_ucdp(node.store, node.audit, read_ucdp(path), actor="tests")
    assert again.written == 0


@pytest.mark.slow
def test_the_command_imports_once_and_refuses_a_bad_file_whole(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    assert run("init", "--data", str(folder)).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "month_end,country,best_deaths\n2023-01-31,Mali,3\n2023-02-28,Mali,-2\n", encoding="utf-8"
    )
    refused = run("anticipate", "import", str(bad), "--data", str(folder))
    assert refused.returncode == 1
    assert f"{bad} line 3, column 'best_deaths': '-2' is negative" in refused.stderr
    assert "nothing imported" in refused.stderr
    first = run("anticipate", "import", "--shipped", "--data", str(folder), "--json")
    assert first.returncode == 0, first.stderr
    assert orjson.loads(first.stdout) | {"file": ""} == {
        "file": "",
        "format": "country-month",
        "records": 1106,
        "zero_months": 2674,
        "written": 1107,
        "unchanged": 0,
        "revised": 0,
        "revoked": 0,
    }
    again = run("anticipate", "import", str(shipped_path()), "--data", str(folder))
    assert again.returncode == 0, again.stderr
    assert "1,106 records, 0 written, 1,107 unchanged" in " ".join(again.stdout.split())
    assert "Uppsala Conflict Data Program, licensed CC BY 4.0" in " ".join(again.stdout.split())
    series = run(
        "anticipate", "series", "--data", str(folder), "--place", "ML", "--category", "deaths"
    )
    assert series.returncode == 0, series.stderr
    assert "ML/deaths" in series.stdout and "14832" in series.stdout
