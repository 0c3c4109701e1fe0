"""Golden emitted trees: every file `lower` writes for a sample of data/, byte for byte.

The trees were recorded before the package layout changed (issue 11) so that a restructuring
that claims "behaviour unchanged" is held to it. Timestamps are fixed; no step is verified
here (results carry seeds and times), and buffer sidecars are binary and left out.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from codegen.emit import emit
from fixture_paths import TESTS
from workflow.lower import build_ir

DATA = TESTS.parent / "data"
GOLDEN_TREES = TESTS / "golden_trees"
SAMPLE = [
    "examples/attention_block.py",
    "examples/mlp_block.py",
    "examples/simple_transformer.py",
    "level1/16_GELU.py",
    "level1/28_RMSNorm.py",
    "level1/48_ScaledDotProductAttention.py",
    "level2/13_Conv2d_GroupNorm_Tanh_HardSwish_ResidualAdd_LogSumExp.py",
    "level2/32_Bmm_Scale_Softmax_Bmm.py",
    "level3/6_ResNetBasicBlock.py",
    "level3/21_GPTBlock.py",
    "level3/25_GRU.py",
    "level3/31_LlamaDecoderBlock.py",
    "level3/35_TiedEmbeddingLM.py",
]


def _emitted(model: str) -> dict[str, bytes]:
    # relative to the checkout, as a user in it would type it: headers name the source file
    path = DATA.relative_to(TESTS.parent) / model
    ir = build_ir(path)
    out = emit(ir, source=path.read_text(), buffers={}, source_level="golden",
               timestamp="2026-01-01T00:00:00+00:00", model_rel="model.py")
    return {rel: data for rel, data in out.files.items() if not rel.endswith(".buffers.pt")}


@pytest.mark.parametrize("model", SAMPLE)
def test_emitted_tree_matches_golden(model: str, update_golden: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TESTS.parent)
    files = _emitted(model)
    folder = GOLDEN_TREES / model.removesuffix(".py").replace("/", "__")
    if update_golden:
        for old in folder.rglob("*"):
            if old.is_file():
                old.unlink()
        for rel, text in files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text)
        return
    if not folder.is_dir():
        pytest.fail(f"missing golden tree {folder}; run pytest --update-golden")
    recorded = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(recorded), "emitted file set differs from the golden tree"
    for rel in sorted(files):
        expected = (folder / rel).read_bytes()
        if expected != files[rel]:
            diff = "".join(difflib.unified_diff(expected.decode().splitlines(True),
                                                files[rel].decode().splitlines(True), rel,
                                                "actual"))
            pytest.fail(f"{model}: {rel} differs from the golden tree:\n{diff[:4000]}")
