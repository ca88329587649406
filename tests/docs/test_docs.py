"""The documentation cannot drift from the code.

* The generated reference pages (configuration, log messages) equal a fresh generation, and the
  generators fail on a field or log message without a description.
* Every Python block in the docs is a snippet of a file under examples/, and those examples run here.
* The simulator page documents exactly the /sim routes registered, the keys of /sim/state and of the
  CLI's JSON line; the architecture page's import direction holds.
* ``mkdocs build --strict`` succeeds (offline: nothing is fetched at build time), and the site it builds
  loads no script or stylesheet from the network: mermaid is vendored, so the diagrams render offline.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web

from adapters.sim.control import add_control_routes
from adapters.sim.faults import ConnectionRegistry, Faults
from adapters.sim.server import VENUES, SimVenue
from adapters.testkit.node import SimNode

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _section(page: str, heading: str) -> str:
    """The text of ``## heading`` up to the next ``## `` heading."""
    text = (DOCS / page).read_text()
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else None]


# ------------------------------------------------------------------------------- generated pages


@pytest.mark.parametrize("generator", ["gen_config_reference", "gen_log_reference"])
def test_generated_page_is_fresh(generator: str) -> None:
    gen = _load(generator)
    fresh = gen.render()
    assert gen.OUTPUT.read_text() == fresh, (
        f"{gen.OUTPUT.relative_to(ROOT)} is stale: run `.venv/bin/python docs/{generator}.py` (or make docs)"
    )


def test_config_generator_fails_on_an_undocumented_field(tmp_path: Path, monkeypatch: Any) -> None:
    gen = _load("gen_config_reference")
    table = gen.TABLE.read_text()
    pruned = re.sub(r"^use_ws_trading = .*\n", "", table, flags=re.M)
    assert pruned != table
    (tmp_path / "fields.toml").write_text(pruned)
    monkeypatch.setattr(gen, "TABLE", tmp_path / "fields.toml")
    with pytest.raises(SystemExit, match="use_ws_trading"):
        gen.render()


def test_config_generator_fails_on_a_description_without_field(tmp_path: Path, monkeypatch: Any) -> None:
    gen = _load("gen_config_reference")
    table = gen.TABLE.read_text().replace("[SimNode]\n", '[SimNode]\nno_such_field = "gone"\n')
    (tmp_path / "fields.toml").write_text(table)
    monkeypatch.setattr(gen, "TABLE", tmp_path / "fields.toml")
    with pytest.raises(SystemExit, match="no_such_field"):
        gen.render()


def test_config_reference_lists_every_field_with_its_default() -> None:
    from adapters.binance_futures.config import BinanceFuturesExecClientConfig
    from adapters.bingx.config import BingxExecClientConfig

    page = (DOCS / "reference" / "configuration.md").read_text()
    assert "| `keepalive_interval_secs` | `float` | `1800.0` |" in page
    assert "| `environment` | `BinanceEnvironment` | `BinanceEnvironment.SIM` |" in page
    assert "| `--listen-key-ttl` | `float` | `3600.0` |" in page
    for cls in (BinanceFuturesExecClientConfig, BingxExecClientConfig):
        for name in cls.__struct_fields__:
            assert f"| `{name}` |" in page, name


def test_log_generator_fails_on_an_undocumented_message(tmp_path: Path, monkeypatch: Any) -> None:
    gen = _load("gen_log_reference")
    table = gen.TABLE.read_text()
    entry = re.search(
        r'\[\[message\]\]\nwhere = "core/userstream/recovery.py:recover_with_retry"\n(?:.+\n)+', table
    )
    assert entry is not None
    (tmp_path / "messages.toml").write_text(table.replace(entry.group(0), ""))
    monkeypatch.setattr(gen, "TABLE", tmp_path / "messages.toml")
    with pytest.raises(SystemExit, match="recovery attempt"):
        gen.render()


def test_log_catalogue_skips_exceptions_built_in_a_raise() -> None:
    gen = _load("gen_log_reference")
    finder = gen._Finder("m.py")
    source = 'def f():\n    log.error("logged %s", x)\n    raise errors.error("not logged")\n'
    finder.visit(ast.parse(source))
    assert [(c.where, c.text) for c in finder.calls] == [("m.py:f", "logged …")]


def test_log_catalogue_finds_the_recovery_lines() -> None:
    gen = _load("gen_log_reference")
    texts = {(c.where, c.level, c.text) for c in gen.find_log_calls()}
    assert (
        "core/userstream/recovery.py:recover_once",
        "WARNING",
        "…: rotating listen key (reasons: …)",
    ) in texts
    assert (
        "core/userstream/listen_key.py:keepalive_once",
        "WARNING",
        "…: keepalive failed (…/…): …",
    ) in texts


# ------------------------------------------------------------------------------- code in the docs


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_every_python_block_is_included_from_a_tested_file() -> None:
    fence = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
    typed = []
    for page in _pages():
        for block in fence.findall(page.read_text()):
            lines = [line for line in block.splitlines() if line.strip()]
            if not all(line.startswith("--8<-- ") for line in lines):
                typed.append(f"{page.relative_to(ROOT)}: {lines[0] if lines else ''!r}")
    assert not typed, "Python typed into Markdown (include it from examples/ instead):\n" + "\n".join(typed)


def test_every_snippet_exists_and_is_run_here() -> None:
    ref = re.compile(r'^--8<-- "([^":]+)(?::(\w+))?"', re.M)
    this_file = Path(__file__).read_text()
    found = 0
    for page in _pages():
        for path, section in ref.findall(page.read_text()):
            found += 1
            source = (ROOT / path).read_text()
            if section:
                assert f"# --8<-- [start:{section}]" in source, (path, section)
                assert f"# --8<-- [end:{section}]" in source, (path, section)
            module = path.removesuffix(".py").replace("/", ".")
            assert path.startswith("examples/") and f"from {module} import" in this_file, (
                f"{path} is shown in the docs but not run by tests/docs"
            )
    assert found >= 6


class _AnyEnviron(dict[str, str]):
    """Every ``${NAME}`` is set (to a placeholder URL)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "ws://127.0.0.1:1"


def test_every_node_config_yaml_block_loads() -> None:
    """YAML node configs typed into the docs and the README load with adapters.node_config."""
    import yaml

    from adapters.node_config import node_config_from_dict

    fence = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)
    found = 0
    for page in [*_pages(), ROOT / "README.md"]:
        for block in fence.findall(page.read_text()):
            if "_clients:" not in block:
                continue
            found += 1
            config = node_config_from_dict(yaml.safe_load(block), environ=_AnyEnviron())
            for section in (config.data_clients, config.exec_clients):
                for entry in section.values():
                    entry.create()
                    assert entry.factory is not None and entry.factory.create() is not None
    assert found >= 2


async def test_first_node_example_connects_to_the_simulator() -> None:
    from examples.first_node import run

    async with SimVenue(seed=7, step_interval=3600.0) as sim:
        report = await run(sim.info())
    assert report["connected"] is True
    assert report["instruments"] > 0
    assert report["account"] == "BINANCE-USDT_FUTURES-master"
    quickstart = (DOCS / "quickstart.md").read_text()
    for key in report:
        assert f"\n{key:<12} " in quickstart, key


async def test_strategy_test_example_passes() -> None:
    from examples.sim_strategy_test import test_fill_while_listen_key_expired_is_not_lost

    await test_fill_while_listen_key_expired_is_not_lost()


async def test_sim_faults_example_acts_on_the_venue() -> None:
    from examples.sim_faults import fire_faults

    async with SimVenue(seed=7, step_interval=3600.0) as sim:
        state = await fire_faults(sim.rest_url)
        assert state["markets"]["BTCUSDT"]["last_price"].startswith("65000")
        assert state["faults"]["fail_rules"][0]["after_execute"] is True
        assert state["faults"]["rest_latency_ms"] == 50
        assert state["faults"]["duplicate_user_events"] is True
        # reset-faults ran last
        assert sim.faults.fail_rules == [] and sim.faults.rest_latency_ms == 0


async def test_health_example_after_a_recovery() -> None:
    from examples.health import health
    from examples.sim_strategy_test import FAST

    async with SimNode(seed=3, exec_config=FAST) as env:
        before = health(env.exec_client)
        assert before["recovery_runs"] == 0 and before["socket_state"] == "open"
        env.sim.faults.expire_listen_keys()
        await env.wait_recoveries(1)
        after = health(env.exec_client)
    assert after["recovery_runs"] == 1
    assert after["recovery_last_reasons"] == ["listenKeyExpired"]
    assert after["recovery_last_total_s"] is not None
    assert after["socket_state"] == "open"
    assert after["dispatch_errors"] == 0 and after["malformed_frames"] == 0
    assert "ws_trading_healthy" not in after  # use_ws_trading is off by default


async def test_bingx_health_example_after_a_rotation() -> None:
    from examples.health import bingx_health
    from examples.sim_strategy_test import FAST

    async with SimNode(venue="bingx", seed=3, exec_config=FAST) as env:
        client = env.bingx_client
        before = bingx_health(client)
        assert before["recovery_runs"] == 0 and before["listen_keys_created"] == 1
        client.user_stream.trigger.fire("scheduled rotation")
        await env.wait_recoveries(1)
        after = bingx_health(client)
    assert after["recovery_runs"] == 1
    assert after["recovery_last_reasons"] == ["scheduled rotation"]
    assert after["listen_keys_created"] == 2 and after["listen_keys_retired"] == 1
    assert after["poll_failures"] == 0 and after["malformed_frames"] == 0


def test_testnet_and_live_examples(monkeypatch: Any) -> None:
    from adapters.binance_futures.config import BinanceEnvironment, resolve_credentials
    from adapters.bingx.config import BingxEnvironment
    from examples.testnet_config import bingx_vst_config, live_config, testnet_config

    exec_config = testnet_config().exec_clients["BINANCE"]
    assert exec_config.environment is BinanceEnvironment.TESTNET
    assert exec_config.urls().http == "https://demo-fapi.binance.com"  # Binance USD-M General Info
    assert exec_config.api_key is None and exec_config.api_secret is None
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", "k")
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", "s")
    assert resolve_credentials(exec_config.api_key, exec_config.api_secret) == ("k", "s")

    monkeypatch.delenv("TRADING_ENVIRONMENT", raising=False)
    with pytest.raises(RuntimeError, match="TRADING_ENVIRONMENT=LIVE"):
        live_config()
    monkeypatch.setenv("TRADING_ENVIRONMENT", "LIVE")
    live = live_config().exec_clients["BINANCE"]
    assert live.environment is BinanceEnvironment.LIVE
    assert live.urls().http == "https://fapi.binance.com"

    bingx = bingx_vst_config()
    for client in (bingx.data_clients["BINGX"], bingx.exec_clients["BINGX"]):
        assert client.environment is BingxEnvironment.VST
        assert client.urls().http == "https://open-api-vst.bingx.com"
        assert client.api_key is None and client.api_secret is None


# ------------------------------------------------------------------------------------- simulator


def _registered_sim_routes() -> set[tuple[str, str]]:
    app = web.Application()
    add_control_routes(app, Faults(ConnectionRegistry()), dict)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/sim/")
        and route.method != "HEAD"
    }


def _documented_fault_rows() -> list[tuple[str, str, str]]:
    section = _section("simulator.md", "Fault routes")
    row = re.compile(r"^\| `(GET|POST) (/sim/[^`?\s]+)[^`]*`[^|]*\| `([^`]+)` \|", re.M)
    return row.findall(section)


def test_every_sim_route_is_documented_and_every_documented_route_exists() -> None:
    documented = {(method, path) for method, path, _ in _documented_fault_rows()}
    registered = _registered_sim_routes()
    assert registered - documented == set(), "registered but not in docs/simulator.md"
    assert documented - registered == set(), "in docs/simulator.md but not registered"


def test_documented_python_fault_operations_exist() -> None:
    for _, _, call in _documented_fault_rows():
        name = call.split("(")[0]
        if name.startswith("sim."):
            assert hasattr(SimVenue, name.removeprefix("sim.")), call
        else:
            assert callable(getattr(Faults, name, None)), call


async def test_sim_state_and_cli_line_keys_are_documented() -> None:
    state_doc = set(re.findall(r"^\| `(\w+)` \|", _section("simulator.md", "Ground truth"), re.M))
    line_doc = {
        key
        for row in re.findall(r"^\| (`\w+`(?:, `\w+`)*) \|", _section("simulator.md", "Command line"), re.M)
        for key in re.findall(r"`(\w+)`", row)
    }
    state_keys: set[str] = set()
    line_keys: set[str] = set()
    for venue in VENUES:
        async with SimVenue(venue, step_interval=3600.0) as sim:
            state_keys |= set(sim.state())
            line_keys |= set(sim.info())
    assert state_keys == state_doc
    assert line_keys == line_doc


# ---------------------------------------------------------------------------------- architecture


def _imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "adapters" / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found |= {n.split(".")[1] for n in names if n.startswith("adapters.") and n.count(".") >= 1}
    return found


def test_import_direction_matches_the_architecture_page() -> None:
    assert _imported_packages("core") <= {"core"}
    assert _imported_packages("binance_futures") <= {"binance_futures", "core"}
    assert _imported_packages("bingx") <= {"bingx", "core"}
    assert _imported_packages("sim") <= {"sim"}


# The core's layers, lowest first; a layer imports only its own and lower ranks. userstream and market
# share a rank but must not import each other.
CORE_LAYERS = {"base": 0, "parse": 1, "net": 2, "orders": 3, "userstream": 4, "market": 4, "client": 5}


def _core_layer_imports(layer: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "adapters" / "core" / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found |= {n.split(".")[2] for n in names if n.startswith("adapters.core.")}
    return found


def test_core_layers_import_only_downward() -> None:
    on_disk = {
        p.name for p in (ROOT / "adapters" / "core").iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert on_disk == set(CORE_LAYERS)
    assert [p.name for p in (ROOT / "adapters" / "core").glob("*.py")] == ["__init__.py"]
    for layer, rank in CORE_LAYERS.items():
        imported = _core_layer_imports(layer)
        assert imported <= set(CORE_LAYERS), (layer, imported - set(CORE_LAYERS))
        upward = {other for other in imported if other != layer and CORE_LAYERS[other] >= rank}
        assert not upward, f"core.{layer} imports {upward}: a layer imports only the layers below it"
        doc = ast.get_docstring(ast.parse((ROOT / "adapters" / "core" / layer / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"core.{layer} needs its one-paragraph docstring"
    page = (ROOT / "docs" / "architecture.md").read_text()
    for layer in CORE_LAYERS:
        assert f"core.{layer}" in page, layer


# ----------------------------------------------------------------------------------- site build


def test_optional_include_hook(tmp_path: Path) -> None:
    hooks = _load("hooks")
    page = "# P\n\n<!-- include-optional: r/RESULTS.md -->\n<!-- else -->\nnothing yet\n<!-- end -->\ntail\n"
    assert hooks.expand(page, tmp_path) == "# P\n\nnothing yet\ntail\n"
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "RESULTS.md").write_text("# Title\n\n## Part\n\nsee [profile](p.txt)\n")
    expected = "# P\n\n### Part\n\nsee profile (`r/p.txt` in the repository)\ntail\n"
    assert hooks.expand(page, tmp_path) == expected


def test_make_docs_target_and_ignored_site() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^docs: ", makefile, re.M)
    assert "mkdocs build --strict" in makefile
    assert "site/" in (ROOT / ".gitignore").read_text().split()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built by ``mkdocs build --strict`` (once for the tests that read it)."""
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        pytest.skip("mkdocs / mkdocs-material not installed: pip install -e '.[dev]'")
    cmd = [mkdocs, "build", "--strict"] if mkdocs else [sys.executable, "-m", "mkdocs", "build", "--strict"]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [*cmd, "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_mkdocs_build_strict(site: Path) -> None:
    architecture = (site / "architecture" / "index.html").read_text()
    assert 'class="mermaid"' in architecture
    quickstart = (site / "quickstart" / "index.html").read_text()
    assert "node_config" in quickstart  # the snippet was included


_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
_STYLESHEET = re.compile(r"<link\b[^>]*\brel=[\"']?stylesheet[^>]*>", re.I)
_HREF = re.compile(r"""\bhref\s*=\s*["']?([^"'\s>]+)""", re.I)


def _srcs(tags: list[str], attr: re.Pattern[str]) -> list[str]:
    return [m.group(1) for tag in tags if (m := attr.search(tag))]


def test_site_loads_nothing_from_the_network(site: Path) -> None:
    """An offline reader gets the whole site: no page loads a script or a stylesheet from elsewhere
    (mermaid included: see the next test)."""
    pages = sorted(site.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        external = [
            url
            for url in _srcs(_SCRIPT_TAG.findall(html), _SRC) + _srcs(_STYLESHEET.findall(html), _HREF)
            if re.match(r"(?i)(https?:)?//", url)
        ]
        assert external == [], f"{page.relative_to(site)} loads {external}"


def test_mermaid_is_served_from_the_site(site: Path) -> None:
    """The diagrams render offline. mkdocs-material fetches mermaid from a CDN unless a global
    ``mermaid`` exists when it renders (on DOMContentLoaded), so every page with a diagram must load
    the vendored script itself, synchronously (an ``async`` script may run after that event), and the
    script and its licence must be in the site."""
    vendored = sorted((DOCS / "vendor" / "mermaid").glob("mermaid-*.min.js"))
    assert len(vendored) == 1, vendored
    name = vendored[0].name
    served = site / "vendor" / "mermaid" / name
    assert served.is_file() and served.read_bytes() == vendored[0].read_bytes()
    assert (site / "vendor" / "mermaid" / "LICENSE").read_text().startswith("The MIT License")
    assert ".mermaid=" in served.read_text()[:400]  # the IIFE build that defines the global
    diagrams = [p for p in sorted(site.rglob("*.html")) if 'class="mermaid"' in p.read_text()]
    assert diagrams, "no page has a mermaid diagram: this test checks nothing"
    for page in diagrams:
        tags = [t for t in _SCRIPT_TAG.findall(page.read_text()) if name in t]
        assert tags, f"{page.relative_to(site)} has a diagram but does not load {name}"
        (tag,) = tags
        assert not re.search(r"\basync\b", tag), tag
        src = _SRC.search(tag)
        assert src is not None and (page.parent / src.group(1)).resolve() == served.resolve()


def test_make_mutation_names_files_that_exist() -> None:
    # mutmut refuses to start when a selected test file or a mutated module has moved: a rename must
    # take `make mutation` with it.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    named = [
        *config["only_mutate"],
        *[p for p in config["pytest_add_cli_args_test_selection"] if p.endswith(".py")],
    ]
    assert [p for p in named if not (ROOT / p).is_file()] == []
