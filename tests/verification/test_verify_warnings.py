"""Warnings a passing step still carries: things an agent should look at, found before it asks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from verifier import StepOptions, StepVerifier

CORPUS = Path(__file__).parent / "corpus"
OptionsFactory = Callable[..., StepOptions]


def test_weight_map_with_missing_entries_warns_about_the_structural_fallback(
        verifier: StepVerifier, step_options: OptionsFactory, tmp_path: Path) -> None:
    step = tmp_path / "step"
    shutil.copytree(CORPUS / "honest" / "renamed_weights_through_map", step)
    mapping = json.loads((step / "weight_map.json").read_text())
    del mapping["fc2.weight"], mapping["fc2.bias"]
    (step / "weight_map.json").write_text(json.dumps(mapping))
    result = verifier.verify(step_options(step))
    notes = [w for w in result.warnings if "structural fallback" in w]
    assert notes and "proj_out.linear.weight" in notes[0], result.warnings


def test_complete_weight_map_gives_no_fallback_warning(verifier: StepVerifier,
                                                        step_options: OptionsFactory) -> None:
    result = verifier.verify(step_options(CORPUS / "honest" / "renamed_weights_through_map"))
    assert result.status == "PASS", result.summary_line()
    assert not [w for w in result.warnings if "structural fallback" in w], result.warnings


def test_child_constructed_but_never_called_warns(verifier: StepVerifier,
                                                  step_options: OptionsFactory,
                                                  tmp_path: Path) -> None:
    step = tmp_path / "step"
    shutil.copytree(CORPUS / "honest" / "renamed_weights_through_map", step)
    source = (step / "refactored.py").read_text()
    extra = (step / "children" / "relu_fp32.py").read_text().replace(
        "Component: relu", "Component: spare_relu")
    (step / "children" / "spare_relu_fp32.py").write_text(extra)
    source = source.replace("from relu_fp32 import Model as Relu",
                            "from relu_fp32 import Model as Relu\n"
                            "from spare_relu_fp32 import Model as SpareRelu")
    source = source.replace("        self.act = Relu()\n",
                            "        self.act = Relu()\n        self.spare = SpareRelu()\n")
    (step / "refactored.py").write_text(source)
    result = verifier.verify(step_options(step))
    assert result.status == "PASS", result.summary_line()
    assert any("children/spare_relu_fp32.py" in w and "never called" in w
               for w in result.warnings), result.warnings
    assert not any("children/relu_fp32.py" in w for w in result.warnings), result.warnings
