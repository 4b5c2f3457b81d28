"""The registry: which provider plays each role, where that was decided, what a bad setting
says, and how a third party's provider joins through an entry point. Every test runs with its
own environment (``environ=``), a private studio home and a working folder of its own, so no
setting of the machine running them leaks in."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from studio.errors import InvalidInput, Unauthorized
from studio.providers import ROLES, Choice, _registry, choose, known_providers, resolve

KEY = "sk-test-0a1b2c3d4e5f-never-print-me"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No keys, no settings: a private ``$STUDIO_HOME`` and a working folder with no
    studio.toml (the registry reads ``./studio.toml`` from the current folder)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return {"STUDIO_HOME": str(tmp_path / "home")}


def toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the order of precedence ---------------------------------------------------------------------


def test_each_source_outranks_the_ones_after_it(env: dict[str, str], tmp_path: Path) -> None:
    config = toml(tmp_path / "studio.toml", '[providers]\nvideo = "gemini:veo-3.0"\n')
    environ = env | {
        "STUDIO_CONFIG": str(config),
        "STUDIO_VIDEO_PROVIDER": "replicate",
        "MODAL_TOKEN_ID": KEY,
    }
    project = {"video": "modal"}

    def seen(name: str | None = None, **kw: Any) -> tuple[str, str]:
        choice = choose("video", name, **kw)
        return choice.spec, choice.source

    assert seen("local", project=project, environ=environ) == ("local", "the request")
    assert seen(project=project, environ=environ) == ("modal", "the project's settings")
    assert seen(environ=environ) == ("replicate", "STUDIO_VIDEO_PROVIDER")
    del environ["STUDIO_VIDEO_PROVIDER"]
    assert seen(environ=environ) == ("gemini:veo-3.0", str(config))
    del environ["STUDIO_CONFIG"]
    assert seen(environ=environ) == ("modal", "the default (MODAL_TOKEN_ID is set)")
    del environ["MODAL_TOKEN_ID"]
    assert seen(environ=environ) == ("local", "the default (no key set)")


def test_blank_settings_count_as_unset_and_names_are_trimmed(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = toml(tmp_path / "studio.toml", '[providers]\nimage = "  "\n')
    environ = env | {
        "STUDIO_CONFIG": str(config),
        "STUDIO_IMAGE_PROVIDER": " ",
        "GEMINI_API_KEY": "",
    }
    choice = choose("image", "   ", project={"image": ""}, environ=environ)
    assert (choice.spec, choice.source) == ("local", "the default (no key set)")
    assert choose("image", " replicate ", environ=environ).spec == "replicate"
    assert choose("image", project={"image": " gemini\n"}, environ=environ).spec == "gemini"


def test_a_project_setting_for_one_role_leaves_the_others_alone(env: dict[str, str]) -> None:
    project = {"image": "replicate"}
    assert choose("image", project=project, environ=env).spec == "replicate"
    assert choose("video", project=project, environ=env).source == "the default (no key set)"


def test_studio_toml_comes_from_studio_config_then_the_folder_then_the_home(
    env: dict[str, str], tmp_path: Path
) -> None:
    named = toml(tmp_path / "elsewhere" / "mine.toml", '[providers]\nimage = "gemini"\n')
    here = toml(Path("studio.toml"), '[providers]\nimage = "replicate"\n')  # in the work folder
    at_home = toml(Path(env["STUDIO_HOME"]) / "studio.toml", '[providers]\nimage = "local"\n')

    def seen(environ: dict[str, str]) -> tuple[str, str]:
        choice = choose("image", environ=environ)
        return choice.spec, choice.source

    assert seen(env | {"STUDIO_CONFIG": str(named)}) == ("gemini", str(named))
    assert seen(env) == ("replicate", "studio.toml")
    here.unlink()
    assert seen(env) == ("local", str(at_home))


def test_a_file_without_a_providers_table_changes_nothing(env: dict[str, str]) -> None:
    toml(Path("studio.toml"), "[render]\nfps = 24\n")
    assert choose("text", environ=env).source == "the default (no key set)"


# -- the default follows the keys ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {},
            {"text": "local", "planner": "local", "image": "local", "video": "local",
             "music": "local", "transcriber": "gemini"},
        ),
        (
            {"REPLICATE_API_TOKEN": KEY},
            {"text": "local", "planner": "local", "image": "replicate", "video": "replicate",
             "music": "replicate", "transcriber": "gemini"},
        ),
        (
            {"GEMINI_API_KEY": KEY},
            {"text": "gemini", "planner": "gemini", "image": "gemini", "video": "gemini",
             "music": "local", "transcriber": "gemini"},
        ),
        ({"GOOGLE_API_KEY": KEY}, {"text": "gemini", "image": "gemini", "music": "local"}),
        ({"MODAL_TOKEN_ID": KEY}, {"image": "local", "video": "modal"}),
        (
            {"GEMINI_API_KEY": KEY, "REPLICATE_API_TOKEN": KEY, "MODAL_TOKEN_ID": KEY},
            {"text": "gemini", "image": "gemini", "video": "replicate", "music": "replicate"},
        ),
        ({"GEMINI_API_KEY": "   ", "REPLICATE_API_TOKEN": ""}, {"text": "local", "image": "local"}),
    ],
    ids=["no-keys", "replicate", "gemini", "google", "modal", "all", "blank-keys"],
)  # fmt: skip
def test_with_nothing_configured_the_default_is_the_first_service_with_a_key(
    env: dict[str, str], keys: dict[str, str], expected: dict[str, str]
) -> None:
    environ = env | keys
    chosen = {role: choose(role, environ=environ) for role in expected}
    assert {role: c.spec for role, c in chosen.items()} == expected
    for c in chosen.values():
        assert c.source.startswith("the default")
    if not any(v.strip() for v in keys.values()):
        # there is no offline transcriber: the default names the service that needs a key
        assert choose("transcriber", environ=environ).source == "the default"


def test_the_default_names_the_variable_that_decided_it(env: dict[str, str]) -> None:
    choice = choose("image", environ=env | {"REPLICATE_API_TOKEN": KEY})
    assert choice.source == "the default (REPLICATE_API_TOKEN is set)"
    choice = choose("text", environ=env | {"GOOGLE_API_KEY": KEY})
    assert choice.source == "the default (GEMINI_API_KEY is set)"  # the family's first name


def test_the_chosen_service_without_its_key_says_which_variable_to_set(
    env: dict[str, str],
) -> None:
    with pytest.raises(Unauthorized) as info:
        resolve("transcriber", environ=env)
    assert info.value.hint is not None and "GEMINI_API_KEY" in info.value.hint


# -- bad settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[providers\nimage = 'local'\n", "is not valid TOML"),
        ('[providers]\nsound = "local"\n', "unknown roles ['sound']"),
        ("[providers]\nimage = 3\n", "non-text values for ['image']"),
        ('[providers]\nvideo = ["local"]\n', "non-text values for ['video']"),
        ('providers = "local"\n', "is not a table"),
    ],
    ids=["broken", "unknown-role", "number", "list", "not-a-table"],
)
def test_a_bad_studio_toml_is_refused_naming_the_file(
    env: dict[str, str], tmp_path: Path, text: str, says: str
) -> None:
    config = toml(tmp_path / "bad" / "studio.toml", text)
    with pytest.raises(InvalidInput) as info:
        choose("image", environ=env | {"STUDIO_CONFIG": str(config)})
    assert says in info.value.message
    assert str(config) in info.value.message
    assert info.value.hint


def test_an_unknown_role_in_the_table_gets_the_list_of_roles(env: dict[str, str]) -> None:
    toml(Path("studio.toml"), '[providers]\nvideos = "local"\n')
    with pytest.raises(InvalidInput) as info:
        choose("video", environ=env)
    assert info.value.hint is not None
    assert all(role in info.value.hint for role in ROLES)


def test_a_file_that_is_not_utf8_is_refused(env: dict[str, str]) -> None:
    Path("studio.toml").write_bytes(b'[providers]\nimage = "caf\xe9"\n')
    with pytest.raises(InvalidInput, match=r"studio\.toml is not valid TOML"):
        choose("image", environ=env)


def test_studio_config_naming_a_missing_file_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "studio.toml"
    with pytest.raises(InvalidInput) as info:
        choose("image", environ=env | {"STUDIO_CONFIG": str(missing)})
    assert str(missing) in info.value.message and "not a file" in info.value.message
    assert info.value.hint is not None and "unset" in info.value.hint
    with pytest.raises(InvalidInput, match="not a file"):  # a folder is not a file either
        choose("image", environ=env | {"STUDIO_CONFIG": str(tmp_path)})


def test_an_unknown_role_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as info:
        choose("sound", environ=env)  # type: ignore[arg-type]
    assert "no provider role 'sound'" in info.value.message
    assert info.value.hint is not None and "transcriber" in info.value.hint


def test_an_unknown_provider_names_where_it_came_from_and_the_known_ones(
    env: dict[str, str],
) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve("video", "runway:gen-4", environ=env)
    assert "no video provider called 'runway:gen-4' (from the request)" in info.value.message
    assert info.value.hint == "known video providers: gemini, local, modal, replicate"
    toml(Path("studio.toml"), '[providers]\nmusic = "suno"\n')
    with pytest.raises(InvalidInput) as info:
        resolve("music", environ=env)
    assert "'suno' (from studio.toml)" in info.value.message
    assert info.value.hint == "known music providers: local, replicate"


# -- what is known, and third parties ------------------------------------------------------------


def test_known_providers_include_the_studios_own_entry_points() -> None:
    assert {"local", "replicate", "modal", "gemini"} <= set(known_providers("video"))
    assert {"local", "replicate"} <= set(known_providers("music"))
    assert "local" not in known_providers("transcriber")
    # the local clip maker is an entry point of this package, as a third party's would be
    assert "local" in _registry._entry_points()["video"]


class FakeEntryPoint:
    """What ``importlib.metadata`` hands back: a name, and ``load()`` importing the target."""

    def __init__(self, name: str, target: Any) -> None:
        self.name, self.target, self.loads = name, target, 0

    def load(self) -> Any:
        self.loads += 1
        return self.target


class AcmePainter:
    def __init__(self, variant: str | None, environ: Mapping[str, str]) -> None:
        self.name, self.variant, self.environ = "acme", variant, environ


def acme_painter(variant: str | None, environ: Mapping[str, str]) -> AcmePainter:
    return AcmePainter(variant, environ)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeEntryPoint]]:
    """Entry points as if a package ``acme-studio`` were installed (and nothing else)."""
    eps = [
        FakeEntryPoint("image:Acme", acme_painter),
        FakeEntryPoint("image:gemini", acme_painter),  # cannot take over a studio name
        FakeEntryPoint("sound:acme", acme_painter),  # not a role: ignored
        FakeEntryPoint("image", acme_painter),  # no base: ignored
    ]

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        assert group == "studio.providers"
        return eps

    monkeypatch.setattr(_registry, "entry_points", entry_points)
    _registry._entry_points.cache_clear()
    yield eps
    _registry._entry_points.cache_clear()  # the real entry points again after this test


def test_a_third_party_provider_joins_through_an_entry_point(
    env: dict[str, str], installed: list[FakeEntryPoint]
) -> None:
    acme = installed[0]
    assert known_providers("image") == ["acme", "gemini", "local", "replicate"]
    assert "acme" not in known_providers("video") and "sound" not in _registry._entry_points()
    assert acme.loads == 0  # listing imports nothing; the factory loads when chosen

    environ = env | {"STUDIO_IMAGE_PROVIDER": "ACME:turbo", "ACME_KEY": "x"}
    painter = resolve("image", environ=environ)
    assert isinstance(painter, AcmePainter)
    assert painter.variant == "turbo" and painter.environ["ACME_KEY"] == "x"
    assert acme.loads == 1
    assert resolve("image", "acme", environ=env).variant is None
    with pytest.raises(Unauthorized):  # "image:gemini" is still the studio's own Gemini
        resolve("image", "gemini", environ=env)
    assert installed[1].loads == 0


def test_a_key_is_never_in_a_choice(env: dict[str, str]) -> None:
    environ = env | {"GEMINI_API_KEY": KEY, "REPLICATE_API_TOKEN": KEY, "MODAL_TOKEN_ID": KEY}
    for role in ROLES:
        choice = choose(role, environ=environ)
        assert isinstance(choice, Choice)
        assert KEY not in repr(choice) and KEY not in choice.source and KEY not in choice.spec
    assert repr(choose("text", environ=environ)) == (
        "Choice('text', 'gemini', from the default (GEMINI_API_KEY is set))"
    )
