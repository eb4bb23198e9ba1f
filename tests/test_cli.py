"""The command line, run as a user runs it: a real process, a real data folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import click.testing
import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.cli import cli
from diapason.cli.common import Styled, plural, show
from tests.builders import PERSON
from tests.shared import SHARED

EXAMPLES = SHARED / "data" / "stix" / "oasis_examples" / "examples"
ACTOR = "threat-actor--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def run(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(data)]
        if data
        else [sys.executable, "-m", "diapason", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def actor(
    name: str = "Groupe armé du Sahel", modified: str = "2024-04-22T10:00:00.000Z"
) -> dict[str, Any]:
    return {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": ACTOR,
        "created": "2024-04-22T10:00:00.000Z",
        "modified": modified,
        "name": name,
        "threat_actor_types": ["terrorist"],
    }


def write_bundle(path: Path, objects: list[Any]) -> Path:
    path.write_bytes(
        orjson.dumps(
            {
                "type": "bundle",
                "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                "objects": objects,
            }
        )
    )
    return path


@pytest.fixture
def node(tmp_path: Path) -> Path:
    data = tmp_path / "node"
    result = run(data, "init")
    assert result.returncode == 0, result.stderr
    return data


def object_rows(data: Path) -> int:
    with sqlite3.connect(data / "diapason.sqlite3") as connection:
        return int(connection.execute("SELECT count(*) FROM objects").fetchone()[0])


def test_init_prints_the_admin_token_once(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    first = run(data, "init", "--json")
    assert first.returncode == 0, first.stderr
    payload = orjson.loads(first.stdout)
    assert payload["initialised"] is True
    assert payload["admin"]["role"] == "admin"
    token = payload["token"]
    assert token.startswith("dia_")
    second = run(data, "init", "--json")
    assert orjson.loads(second.stdout) == {
        "initialised": False,
        "node": "diapason",
        "data": str(data),
    }
    assert token not in second.stdout + second.stderr
    # The config file holds a generated secret key, readable by its owner only.
    assert (data / "diapason.toml").stat().st_mode & 0o077 == 0
    # The token is stored only as a hash.
    assert token.encode() not in (data / "diapason.sqlite3").read_bytes()


@pytest.mark.slow
def test_import_is_idempotent_and_export_passes_the_oasis_validator(
    node: Path, tmp_path: Path
) -> None:
    files = [
        EXAMPLES / "threat-reports" / "apt1.json",
        EXAMPLES / "threat-reports" / "poisonivy.json",
    ]
    # A new node already holds its identity and Diapason's shipped definitions.
    before = len(orjson.loads(run(node, "export").stdout)["objects"])
    assert before > 0
    first = run(node, "import", *map(str, files), "--json")
    assert first.returncode == 0, first.stderr
    counts = orjson.loads(first.stdout)
    assert counts["written"] > 200 and counts["refused"] == 0
    again = orjson.loads(run(node, "import", *map(str, files), "--json").stdout)
    assert again["written"] == 0 and again["unchanged"] == counts["written"] + counts["unchanged"]

    out = tmp_path / "export.json"
    # The reports name persons (identity_class individual): exported for a stated reason.
    exported = run(node, "export", "--output", str(out), "--reason", "interoperability test")
    assert exported.returncode == 0, exported.stderr
    bundle = orjson.loads(out.read_bytes())
    assert len(bundle["objects"]) == before + counts["written"]
    results = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors][:5]

    only = orjson.loads(run(node, "export", "--type", "intrusion-set").stdout)
    assert {obj["type"] for obj in only["objects"]} == {"intrusion-set"}


@pytest.mark.slow
def test_search_show_and_audit(node: Path, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b.json", [actor()])
    assert run(node, "import", str(bundle)).returncode == 0
    found = orjson.loads(run(node, "search", "sahel", "--json").stdout)
    assert [obj["id"] for obj in found["objects"]] == [ACTOR]
    shown = orjson.loads(run(node, "show", ACTOR, "--json", "--reason", "case 12").stdout)
    assert shown["versions"][0]["object"]["name"] == "Groupe armé du Sahel"
    entries = orjson.loads(run(node, "audit", "list", "--json", "--action", "consult").stdout)
    assert entries[-1]["object_ids"] == [ACTOR] and entries[-1]["reason"] == "case 12"
    verified = run(node, "audit", "verify", "--json")
    assert verified.returncode == 0 and orjson.loads(verified.stdout)["ok"] is True
    missing = run(node, "show", "threat-actor--00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "no object" in missing.stderr


def test_tampering_with_the_audit_trail_is_named(node: Path) -> None:
    run(node, "user", "add", "alice", "--role", "analyst")
    with sqlite3.connect(node / "diapason.sqlite3") as connection:
        connection.execute("DROP TRIGGER audit_log_no_update")
        connection.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
    result = run(node, "audit", "verify")
    assert result.returncode == 1
    assert "broken" in result.stdout and "1" in result.stdout


@pytest.mark.slow
def test_users_and_tokens(node: Path) -> None:
    assert run(node, "user", "add", "nadia", "--role", "liaison").returncode == 0
    users = orjson.loads(run(node, "user", "list", "--json").stdout)
    assert {(u["username"], u["role"]) for u in users} == {("admin", "admin"), ("nadia", "liaison")}
    created = orjson.loads(
        run(node, "token", "create", "nadia", "--name", "taxii", "--json").stdout
    )
    listing = run(node, "token", "list")
    assert created["token"] not in listing.stdout and created["prefix"] in listing.stdout
    assert run(node, "token", "revoke", str(created["id"])).returncode == 0
    tokens = orjson.loads(run(node, "token", "list", "--user", "nadia", "--json").stdout)
    assert tokens[0]["revoked_at"] is not None
    assert run(node, "user", "disable", "nadia").returncode == 0
    bad_role = run(node, "user", "add", "omar", "--role", "emperor")
    assert bad_role.returncode != 0 and "emperor" in bad_role.stderr
    duplicate = run(node, "user", "add", "nadia", "--role", "viewer")
    assert duplicate.returncode == 1 and "nadia" in duplicate.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b'{"type": "bundle", "objects": [', ("not valid JSON",)),
        (b'{"type": "campaign", "id": "x"}', ("not a STIX bundle",)),
        (b"[1, 2]", ("not a STIX bundle",)),
        (b'{"type": "bundle", "objects": [{"type": "x\xff\xfe"}]}', ("not valid UTF-8",)),
    ],
)
def test_unreadable_files_are_refused_whole(
    node: Path, tmp_path: Path, content: bytes, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    before = object_rows(node)
    _one_line_error(run(node, "import", str(path)), "bad.json", *fragments)
    assert object_rows(node) == before


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"id": "threat-actor--not-a-uuid"}, ("object #1", "id:", "TYPE--UUID")),
        ({"modified": "2024-13-01T00:00:00Z"}, ("object #1", ACTOR, "modified:")),
        ({"created": "yesterday"}, ("object #1", ACTOR, "created:")),
        ({"description": "x" * 50_000_000}, ("object #1", ACTOR, "size:", "over the limit")),
    ],
)
def test_bad_objects_are_named_and_the_rest_written(
    node: Path, tmp_path: Path, change: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    good = {**actor(), "id": "threat-actor--6b0a1c3e-2f44-4a7d-9c55-3e1c2d4b5a6f"}
    path = write_bundle(tmp_path / "mixed.json", [good, {**actor(), **change}])
    before = object_rows(node)
    _one_line_error(run(node, "import", str(path)), *fragments)
    assert object_rows(node) == before + 1


@pytest.mark.slow
def test_a_folder_of_many_bundles_is_written_in_batches_across_files(
    node: Path, tmp_path: Path
) -> None:
    """Small files share batches and a big file spans several; a refused object is still
    named by its file and its position there, and the audit trail says which files and
    positions each batch covered."""
    folder = tmp_path / "bundles"
    folder.mkdir()
    ids: list[str] = []
    for number in range(12):
        objects: list[Any] = []
        for position in range(9 if number == 5 else 3):
            object_id = f"threat-actor--{number:08x}-0000-4000-8000-{position:012x}"
            objects.append({**actor(name=f"Groupe {number}-{position}"), "id": object_id})
            ids.append(object_id)
        if number == 7:
            objects[2]["modified"] = "2024-13-01T00:00:00Z"
            ids.remove(objects[2]["id"])
        write_bundle(folder / f"b{number:02d}.json", objects)
    (folder / "empty.json").write_bytes(
        b'{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56e", "objects": []}'
    )
    before = object_rows(node)

    result = run(node, "import", str(folder), "--json", env={"DIAPASON_BATCH_SIZE": "4"})
    assert result.returncode == 1, result.stderr
    report = orjson.loads(result.stdout)
    assert (report["written"], report["files"]) == (len(ids), 13)
    [problem] = report["problems"]
    assert (problem["index"], problem["field"]) == (2, "modified")
    assert problem["file"] == str(folder / "b07.json")
    assert "refused: b07.json: object #2 (threat-actor--00000007-" in result.stderr
    assert object_rows(node) == before + len(ids)

    entries = orjson.loads(run(node, "audit", "list", "--action", "import", "--json").stdout)
    covered = [part for entry in entries for part in entry["details"]["files"]]
    assert sum(part["count"] for part in covered) == len(ids) + 1
    big = [part for part in covered if part["file"].endswith("b05.json")]
    assert [(part["first_index"], part["count"]) for part in big] == [(0, 1), (1, 4), (5, 4)]
    assert all(len(entry["object_ids"]) <= 4 for entry in entries)
    assert run(node, "audit", "verify").returncode == 0


@pytest.mark.slow
def test_two_contents_under_one_version_are_refused(node: Path, tmp_path: Path) -> None:
    assert run(node, "import", str(write_bundle(tmp_path / "a.json", [actor()]))).returncode == 0
    other = write_bundle(tmp_path / "b.json", [actor(name="Autre nom")])
    _one_line_error(run(node, "import", str(other)), ACTOR, "different content")
    shown = orjson.loads(run(node, "show", ACTOR, "--json").stdout)
    assert shown["versions"][0]["object"]["name"] == "Groupe armé du Sahel"


def test_a_database_that_does_not_answer(tmp_path: Path) -> None:
    result = run(
        tmp_path / "n",
        "init",
        env={"DIAPASON_DATABASE_URL": "postgresql+psycopg://diapason:pw-123@127.0.0.1:1/x"},
    )
    _one_line_error(result, "does not answer", "127.0.0.1:1")
    assert "pw-123" not in result.stderr + result.stdout


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_a_data_folder_without_write_permission() -> None:
    # Outside pytest's tmp folder, whose parents only root may enter.
    parent = Path(tempfile.mkdtemp(prefix="diapason-locked-"))
    parent.chmod(0o755)
    locked = parent / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "diapason",
            "init",
            "--data",
            str(locked),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": "/tmp"},
    )
    try:
        _one_line_error(result, "not writable", str(locked))
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(parent)


def test_data_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    _one_line_error(run(target / "sub", "init"), "not a folder")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``, as its help would list them (the top-level group
    imports its commands only when asked for them)."""
    found: list[tuple[str, ...]] = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None and command.name == name, name
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_a_listing_is_json_or_a_table_of_escaped_cells(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every list command prints: the value as JSON with --json (the rows never read);
    else a table whose cells are text (data that looks like markup shown as it is, None as
    nothing) but for Styled ones, or the empty message when there is no row."""

    def never() -> Any:
        raise AssertionError("rows read for --json")
        yield

    show({"a": [1]}, ["x"], never(), as_json=True)
    assert orjson.loads(capsys.readouterr().out) == {"a": [1]}
    monkeypatch.setenv("COLUMNS", "200")
    rows = [["[bold]x[/bold]", None, 3, Styled("[red]LATE[/red] open")]]
    show([], ["name", "note", "count", "state"], rows, as_json=False, title="things")
    printed = capsys.readouterr().out
    assert "things" in printed and "[bold]x[/bold]" in printed
    assert "LATE open" in printed and "[red]" not in printed
    show([], ["name"], [], as_json=False, empty="nothing to list")
    assert capsys.readouterr().out == "nothing to list\n"
    # At 80 columns an id is never cut nor wrapped (it must be copied into `show`): the
    # other columns wrap first.
    monkeypatch.setenv("COLUMNS", "80")
    report = "report--34f77777-22fa-53df-ab3f-91669d6541b6"
    title = "Maroc-France : Coopération sécuritaire et migration au cœur de l'entretien"
    row = [report, "report", title, "2026"]
    show([], ["id", "type", "title", "modified"], [row], as_json=False)
    printed = capsys.readouterr().out
    assert report in printed and max(map(len, printed.splitlines())) <= 80
    assert "Maroc-" in printed


def test_counts_have_the_right_plural() -> None:
    assert plural(1, "article") == "1 article"
    assert plural(0, "article") == "0 articles"
    assert plural(1200, "entry", "entries") == "1,200 entries"


def test_every_command_has_help_and_is_documented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
    runner = click.testing.CliRunner()
    for path in _commands(cli):
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
        assert f"diapason {' '.join(path)}" in docs, (
            f"`diapason {' '.join(path)}` is not in docs/cli.md"
        )


@pytest.mark.slow
def test_a_command_imports_only_what_it_needs() -> None:
    """`diapason search` starts without SciPy, the web server or the OSINT pipeline (they
    are a second of start-up), and `diapason --help` still lists every command."""
    probe = (
        "import sys\n"
        "from diapason.cli import main\n"
        "sys.argv = ['diapason', 'search', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('scipy', 'numpy', 'uvicorn', 'starlette',\n"
        "         'diapason.osint', 'diapason.anticipate')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Usage: diapason search" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"

    listed = subprocess.run(
        [sys.executable, "-m", "diapason", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
        check=True,
    )
    names = [path[0] for path in _commands(cli)]
    assert len(names) >= 20
    for name in names:
        assert f"  {name} " in listed.stdout, name


@pytest.mark.slow
def test_showing_a_person_needs_a_reason_and_is_audited_as_personal_data(
    node: Path, tmp_path: Path
) -> None:
    person = PERSON
    assert run(node, "import", str(write_bundle(tmp_path / "p.json", [person]))).returncode == 0
    refused = run(node, "show", person["id"])
    assert refused.returncode == 1 and "needs a reason" in refused.stderr
    consulted = orjson.loads(run(node, "audit", "list", "--json", "--action", "consult").stdout)
    assert all(person["id"] not in entry["object_ids"] for entry in consulted)
    assert run(node, "show", person["id"], "--reason", "case 7").returncode == 0
    entries = orjson.loads(run(node, "audit", "list", "--json", "--action", "consult").stdout)
    assert entries[-1]["object_ids"] == [person["id"]] and entries[-1]["reason"] == "case 7"
    assert entries[-1]["details"]["personal_data"] is True


@pytest.mark.slow
def test_user_password_is_read_from_stdin_and_audited(node: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}

    def set_password(username: str) -> subprocess.CompletedProcess[str]:
        command = ["user", "password", username, "--data", str(node), "--password-stdin"]
        return subprocess.run(
            [sys.executable, "-m", "diapason", *command],
            input="a long enough passphrase\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    done = set_password("admin")
    assert done.returncode == 0, done.stderr
    assert "passphrase" not in done.stdout + done.stderr
    entries = orjson.loads(
        run(node, "audit", "list", "--json", "--action", "password_change").stdout
    )
    assert entries[-1]["details"] == {"username": "admin"}
    missing = set_password("nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
    without_stdin = run(node, "user", "password", "admin")
    assert without_stdin.returncode != 0 and "--password-stdin" in without_stdin.stderr


@pytest.mark.slow
def test_exporting_persons_needs_a_reason_and_is_audited_as_personal_data(
    node: Path, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "p.json", [PERSON, actor()])
    assert run(node, "import", str(bundle)).returncode == 0
    without = run(node, "export", "--type", "identity", "--type", "threat-actor")
    assert without.returncode == 0, without.stderr
    ids = {obj["id"] for obj in orjson.loads(without.stdout)["objects"]}
    assert ACTOR in ids and PERSON["id"] not in ids
    assert "1 record about persons left out: give --reason" in without.stderr
    with_reason = run(node, "export", "--type", "identity", "--reason", "case 7")
    assert with_reason.returncode == 0, with_reason.stderr
    ids = {obj["id"] for obj in orjson.loads(with_reason.stdout)["objects"]}
    assert PERSON["id"] in ids
    entries = orjson.loads(run(node, "audit", "list", "--json", "--action", "export").stdout)
    first, second = entries[-2:]
    assert PERSON["id"] not in first["object_ids"] and first["reason"] is None
    assert first["details"]["persons_left_out"] == 1 and "personal_data" not in first["details"]
    assert PERSON["id"] in second["object_ids"] and second["reason"] == "case 7"
    assert second["details"]["personal_data"] is True and second["details"]["persons"] == 1
