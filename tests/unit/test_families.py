"""The family registry and the plan: families are folders, targets come from the cards."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from emorepro.cards import load_cards
from emorepro.config import load_config
from emorepro.errors import ConfigError, EmoreproError
from emorepro.families import (
    family_code_sha256,
    family_ids,
    find_grid,
    folder_code_sha256,
    get_family,
    grids,
    parse_experiment,
)
from emorepro.families.base import CORPUS_ROOT, pick_profile
from emorepro.layout import Layout
from emorepro.plan import (
    ResultKey,
    canonical,
    chain_depths,
    check_cards,
    job_inputs,
    job_settings,
    plan_results,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src/emorepro"


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config(ROOT / "benchmarks/config.yaml")


@pytest.fixture(scope="module")
def cards() -> dict:
    return load_cards(ROOT / "benchmarks")


def test_families_are_the_folders_of_the_package() -> None:
    folders = {p.name for p in (SRC / "families").iterdir() if (p / "__init__.py").is_file()}
    assert set(family_ids()) == folders
    assert {"baselines", "tzirakis2017"} <= set(family_ids())
    for family_id in family_ids():
        assert get_family(family_id).id == family_id


def test_unknown_family_lists_the_registered_ones() -> None:
    with pytest.raises(
        ConfigError, match="unknown paper family 'nope'; registered: aminbeidokhti2020, baselines"
    ):
        get_family("nope")
    with pytest.raises(ConfigError, match="<family>/<name>"):
        parse_experiment("speech000_ccc")


@pytest.mark.parametrize(
    ("experiment", "task", "figures", "trains"),
    [
        ("baselines/svm_eGeMAPSv02", "classification", ("confusion",), False),
        ("baselines/svm_ComParE_2016_spkz", "classification", ("confusion",), False),
        ("baselines/svr_appearance", "regression", ("trace",), False),
        ("baselines/blstm_ccc_ComParE_2016", "regression", ("trace",), True),
        ("tzirakis2017/speech001_mse", "regression", ("trace",), True),
        ("tzirakis2017/fig2_cells", "analysis", ("fig2",), False),
    ],
)
def test_grammar_states_task_figures_and_training(experiment, task, figures, trains) -> None:
    exp = parse_experiment(experiment)
    assert (exp.task, exp.figure_kinds, exp.trains_network) == (task, figures, trains)


@pytest.mark.parametrize(
    "bad",
    [
        "baselines/svm_MFCC",
        "baselines/svm_eGeMAPSv02_spk",
        "baselines/svr",
        "baselines/blstm_l1_eGeMAPSv02",
        "han_emobed/x",
        "aminbeidokhti2020/vgg19_tp",
    ],
)
def test_grammar_refuses_unknown_names(bad: str) -> None:
    with pytest.raises(ConfigError, match="unknown; use"):
        parse_experiment(bad)


def test_grids_are_owned_by_families_and_found_by_name() -> None:
    assert {"tzirakis2017", "han2018"} <= set(grids())
    assert find_grid("han2018").label_shift_s == 2.4
    with pytest.raises(ConfigError, match="grid 'nope' is unknown"):
        find_grid("nope")


def test_plan_is_the_card_rows_plus_the_families_extra_runs(config, cards) -> None:
    keys = plan_results(config, cards)
    rels = {k.rel for k in keys}
    # a card row with post-processing brings its raw result too
    pp = "experiments/tzirakis2017/speech000_ccc/recola_full/recola46/pp-tzirakis2017"
    assert pp in rels and pp.rsplit("/", 1)[0] in rels
    # extra runs: the SVM on every configured categorical corpus, not only the carded one
    assert "experiments/baselines/svm_eGeMAPSv02/rml/loso" in rels
    # Aminbeidokhti: 8 AFEW networks, 7 designs on YouTube-8M, 7 on RECOLA (+7 post-processed)
    amin = {k.rel for k in keys if k.family == "aminbeidokhti2020"}
    assert len(amin) == 8 + 7 + 7 + 7
    assert "experiments/aminbeidokhti2020/augmented_ensemble_multilabel/yt8m/yt8m_shards" in amin
    assert (
        "experiments/aminbeidokhti2020/centralnet/recola_avec2016/avec2016/pp-tzirakis2017" in amin
    )
    # an EmoBed card row brings the runs it reads (joint, triplet, both classic systems)
    han = {k.rel for k in keys if k.family == "han_emobed"}
    assert "experiments/han_emobed/emobed_geo_audio/recola_avec2016/avec2016/pp-han2018" in han
    assert "experiments/han_emobed/classic_video_7class/omg_emotion/official" in han


def test_zhang_audio_networks_run_beyond_the_papers_corpora(config, cards) -> None:
    cfg = copy.deepcopy(config)
    block = cfg["families"]["zhang2018"]
    block["beyond_papers"] = {"corpora": ["emodb"], "experiments": ["anet", "alexaudio"]}
    rels = {k.rel for k in plan_results(cfg, cards)}
    on_emodb = {r for r in rels if r.startswith("experiments/zhang2018/") and "/emodb/" in r}
    assert on_emodb == {
        "experiments/zhang2018/anet/emodb/loso",
        "experiments/zhang2018/alexaudio/emodb/loso",
    }
    block["only_corpora"] = ["rml"]  # the family's corpus filter applies to extra runs too
    assert not any("/zhang2018/" in k.rel and k.corpus == "emodb" for k in plan_results(cfg, cards))
    block["only_corpora"] = None
    block["beyond_papers"]["experiments"] = ["vnet"]  # EmoDB has no faces
    with pytest.raises(ConfigError, match=r"beyond_papers.experiments: 'vnet' needs face clips"):
        plan_results(cfg, cards)


def test_plan_follows_enabled_exclude_and_the_configured_corpora(config, cards) -> None:
    cfg = copy.deepcopy(config)
    cfg["families"]["tzirakis2017"]["exclude"] = ["visual_*", "multimodal_*"]
    keys = plan_results(cfg, cards)
    names = {k.name for k in keys if k.family == "tzirakis2017"}
    assert "speech000_ccc" in names and not any(n.startswith(("visual", "multi")) for n in names)
    cfg["families"]["tzirakis2017"]["exclude"] = []
    cfg["families"]["tzirakis2017"]["only_corpora"] = ["recola_full"]
    assert {k.corpus for k in plan_results(cfg, cards) if k.family == "tzirakis2017"} == {
        "recola_full"
    }
    cfg["families"]["tzirakis2017"]["enabled"] = False
    del cfg["corpora"]["rml"]
    keys = plan_results(cfg, cards)
    assert "tzirakis2017" not in {k.family for k in keys}
    assert "rml" not in {k.corpus for k in keys}
    for family in ("baselines", "zhang2018", "han_emobed", "aminbeidokhti2020"):
        del cfg["families"][family]
    assert plan_results(cfg, cards) == []


def test_job_inputs_and_settings_come_from_the_family(config) -> None:
    key = ResultKey("tzirakis2017", "multimodal_landmarks", "recola_avec2016", "avec2016")
    inputs = job_inputs(key, Layout("res"), "/data/avec")
    assert (
        inputs["root"] == "/data/avec"
        and inputs["sheet"] == "res/folds/recola_avec2016/avec2016.csv"
    )
    assert inputs["init"] == [
        "res/experiments/tzirakis2017/multimodal_traindev/recola_avec2016/avec2016/metrics.json"
    ]
    settings = job_settings(key, config)
    assert settings["profile"] == "tiny" and settings["epochs"] == 2 * 8
    svm = ResultKey("baselines", "svm_ComParE_2016", "rml", "loso")
    assert job_inputs(svm, Layout(), "x")["features"].endswith(
        "rml/ComParE_2016_functionals.parquet"
    )
    assert job_settings(svm, config) == {
        "feature_set": "ComParE_2016",
        "C": 0.01,
        "normalisation": "fold",
    }
    spkz = ResultKey("baselines", "svm_eGeMAPSv02_spkz", "rml", "loso")
    assert job_settings(spkz, config)["normalisation"] == "speaker"
    cfg = copy.deepcopy(config)
    del cfg["families"]["baselines"]
    with pytest.raises(ConfigError, match=r"families\.baselines: not in the config"):
        job_settings(svm, cfg)


def test_settings_do_not_depend_on_the_config_files_key_order(config) -> None:
    """Snakemake compares params as written: keys in another order are the same settings,
    so every job's params come out in one (sorted) order, nested mappings included."""

    def reverse(value):
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        return value

    key = ResultKey("tzirakis2017", "visual_seq150", "recola_avec2016", "avec2016")
    settings = job_settings(key, config)
    flipped = job_settings(key, reverse(copy.deepcopy(config)))
    assert repr(flipped) == repr(settings) and list(settings) == sorted(settings)
    assert canonical({"b": (2, {"d": 1, "c": [{"f": 0, "e": 1}]}), "a": 1}) == {
        "a": 1, "b": (2, {"c": [{"e": 1, "f": 0}], "d": 1})
    }  # fmt: skip
    assert repr(canonical({"b": 1, "a": 2})) == "{'a': 2, 'b': 1}"


def test_result_keys_round_trip_through_their_folder() -> None:
    key = ResultKey("baselines", "svr_geometric", "recola_avec2016", "avec2016", "han2018")
    assert ResultKey.from_rel(key.rel) == key and key.raw.grid is None
    with pytest.raises(ConfigError, match="not a result folder"):
        ResultKey.from_rel("features/rml/x.parquet")


def test_check_cards_names_card_table_and_row(cards) -> None:
    bad = copy.deepcopy(cards)
    row = bad["tzirakis2017_published"]["tables"][1]["rows"][0]
    row["reproduce"]["experiment"] = "tzirakis2017/speech9_ccc"
    with pytest.raises(ConfigError, match=r"pub\.yaml: table table_3, row \w+: tzirakis2017"):
        check_cards(bad, {"tzirakis2017_published": "pub.yaml"})
    row["reproduce"] |= {"experiment": "tzirakis2017/speech000_ccc", "postprocess": "nope"}
    with pytest.raises(ConfigError, match="grid 'nope' is unknown"):
        check_cards(bad, {})


def test_profile_follows_the_scale_unless_set() -> None:
    block = {"profile": None, "profiles": {"tiny": {"a": 1}, "paper": {"a": 2}}}
    assert pick_profile(block, "tiny", key="families.x") == ("tiny", {"a": 1})
    assert pick_profile(block, "full", key="families.x") == ("paper", {"a": 2})
    with pytest.raises(ConfigError, match=r"families\.x\.profile: 'small'"):
        pick_profile(block, "small", key="families.x")


def test_corpus_root_placeholder_is_only_a_placeholder() -> None:
    assert CORPUS_ROOT.startswith("<") and not Path(CORPUS_ROOT).exists()


def test_inputs_digest_follows_file_bytes_and_folder_listings(tmp_path: Path) -> None:
    from emorepro.families.base import RunContext
    from emorepro.results import Source

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus/a.wav").write_bytes(b"1234")
    (tmp_path / "f.parquet").write_bytes(b"abc")

    def digest() -> str:
        ctx = RunContext(
            get_family("baselines").parse("svm_eGeMAPSv02"),
            "rml",
            "loso",
            {"root": str(tmp_path / "corpus"), "features": [str(tmp_path / "f.parquet")]},
            {},
            {},
            Source("synthetic", "tiny", 0),
            tmp_path,
            tmp_path / "ck.pt",
            tmp_path,
        )
        return ctx.inputs_digest()

    first = digest()
    assert digest() == first
    (tmp_path / "f.parquet").write_bytes(b"abd")  # same size, other bytes
    second = digest()
    assert second != first
    (tmp_path / "corpus/b.wav").write_bytes(b"")  # a new file in the corpus folder
    assert digest() != second


def _code_strings(path: Path) -> list[str]:
    """String literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_shared_code_never_names_a_family() -> None:
    """No string in the code outside src/emorepro/families/ names a registered family (shared
    code asks the registry and the cards instead)."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if "families" in path.relative_to(SRC).parts:
            continue
        for text in _code_strings(path):
            offenders += [(path.name, f, text) for f in family_ids() if f in text]
    assert offenders == []


def _key(name: str, grid: str | None = None) -> ResultKey:
    return ResultKey("fam", name, "c", "p", grid)


def test_chain_depths_count_the_longest_chain_of_consumers() -> None:
    """a -> b -> c (b reads a's model, c reads b's); e reads a and d; f reads nothing.
    Depth = experiment jobs on the longest chain below: a 2, b 1, d 1, c/e/f 0. A post-
    processed key counts as its raw result; reading one's own folder is no edge."""
    reads = {
        "a": [],
        "b": ["results/experiments/fam/a/c/p/model.pt"],
        "c": {"init": ["x/index.csv", "results/experiments/fam/b/c/p/model.pt"]},
        "d": ["results/experiments/fam/d/c/p/cache.npz"],
        "e": ["results/experiments/fam/a/c/p/predictions.parquet",
              "results/experiments/fam/d/c/p/model.pt"],
        "f": ["results/features/fam/a/c/p/x.parquet"],  # not an experiment folder
    }  # fmt: skip

    def inputs_of(key: ResultKey) -> dict:
        value = reads[key.name]
        return value if isinstance(value, dict) else {f"i{k}": v for k, v in enumerate(value)}

    keys = [_key(n) for n in reads] + [_key("a", "grid"), _key("c", "grid")]
    depths = chain_depths(keys, inputs_of)
    assert {k.name: v for k, v in depths.items()} == {
        "a": 2, "b": 1, "c": 0, "d": 1, "e": 0, "f": 0,
    }  # fmt: skip
    assert all(k.grid is None for k in depths)


def test_chain_depths_refuse_a_cycle() -> None:
    reads = {"a": "results/experiments/fam/b/c/p/model.pt",
             "b": "results/experiments/fam/a/c/p/model.pt"}  # fmt: skip
    with pytest.raises(EmoreproError, match="cycle"):
        chain_depths([_key("a"), _key("b")], lambda k: {"m": reads[k.name]})


def test_chain_depths_of_the_default_plan_put_pretrained_networks_first(config, cards) -> None:
    """On the default config, some experiment starts a chain (a network that initialises
    another): the rule's priority is not flat, and every depth is a planned raw result's."""
    keys = plan_results(config, cards)
    depths = chain_depths(keys, lambda k: job_inputs(k, Layout(), ""))
    assert set(depths) == {k.raw for k in keys}
    assert max(depths.values()) >= 2 and min(depths.values()) == 0


def test_family_code_hash_follows_that_familys_files_only(tmp_path: Path) -> None:
    """Editing a family's code changes its hash (the experiment rule's ``code`` param, so its
    jobs rerun) and no other family's; byte caches and other files do not count."""
    import shutil

    for fid in ("baselines", "zhang2018"):
        shutil.copytree(SRC / "families" / fid, tmp_path / fid,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    before = {fid: folder_code_sha256(tmp_path / fid) for fid in ("baselines", "zhang2018")}
    assert before["baselines"] == family_code_sha256("baselines")  # same files, same hash
    target = next(iter(sorted((tmp_path / "zhang2018").rglob("*.py"))))
    target.write_text(target.read_text() + "\n# edited\n")
    assert folder_code_sha256(tmp_path / "zhang2018") != before["zhang2018"]
    assert folder_code_sha256(tmp_path / "baselines") == before["baselines"]
    (tmp_path / "baselines/__pycache__").mkdir()
    (tmp_path / "baselines/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "baselines/notes.txt").write_text("not code")
    assert folder_code_sha256(tmp_path / "baselines") == before["baselines"]
    renamed = tmp_path / "baselines" / "renamed_module.py"
    moved = next(iter(sorted((tmp_path / "baselines").glob("*.py"))))
    moved.rename(renamed)  # same bytes under another name is other code
    assert folder_code_sha256(tmp_path / "baselines") != before["baselines"]
    with pytest.raises(ConfigError, match="unknown paper family 'nope'"):
        family_code_sha256("nope")
