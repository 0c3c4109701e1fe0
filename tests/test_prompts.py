"""The agent prompts (prompts/*.md) against the real tool.

Every `hdecomp` command line the prompts show must parse in the click group (command and flags),
every path pattern of OUTPUT_SCHEMA.md's layout table must match what `hdecomp lower` writes, the
verify-step command MAIN_PROMPT.md documents must run as written, and `hdecomp prompt` must print
a filled-in prompt that passes the same checks.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fixture_paths import MODELS
from hdecomp.cli import main
from workflow.lower import default_output_dir
from workflow.prompt import PROMPT_FILES, display_path, prompts_dir, template_text
from hdecomp_ir.spec import DTYPE_CODES, Level

REPO = Path(__file__).resolve().parent.parent
PROMPTS = REPO / "prompts"
EXAMPLE = "data/examples/mlp_block.py"

# Commands the workflow cannot do without: the prompts must show each of them.
REQUIRED_COMMANDS = {"lower", "verify-step", "verify", "prompt"}


# -- reading the prompts ------------------------------------------------------------------------

def code_lines(text: str) -> list[str]:
    """Lines of code in markdown: whole lines inside fences (any backtick count), inline code
    spans elsewhere. Backslash continuations are joined."""
    out: list[str] = []
    fence: str | None = None
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        m = re.match(r"^(`{3,})", stripped)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None and stripped.startswith(fence) and stripped.strip("`") == "":
            fence = None
            continue
        if fence is not None:
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            out.append(pending + line)
            pending = ""
        else:
            out.extend(re.findall(r"`([^`]+)`", line))
    return out


_INVOKE = re.compile(r"(?<![\w./-])hdecomp(?![\w-])\s+(.*)")
_FLAG = re.compile(r"^--?[A-Za-z][\w-]*")
_STOP = {"|", "||", "&&", ";", "#", ">", ">>"}


def invocations(lines: list[str]) -> list[tuple[list[str], str, list[str], str]]:
    """(global options, command, options, source line) of every `hdecomp …` in the lines."""
    found = []
    for line in lines:
        for m in _INVOKE.finditer(line):
            tokens = [t.strip("\"'.,;:()") for t in m.group(1).split()]
            globals_: list[str] = []
            i = 0
            while i < len(tokens) and tokens[i].startswith("-"):
                globals_.append(tokens[i])
                i += 1
            if i == len(tokens):
                continue
            command = tokens[i]
            options = []
            for tok in tokens[i + 1:]:
                if tok in _STOP:
                    break
                flag = _FLAG.match(tok)
                if flag:
                    options.append(flag.group(0))
            found.append((globals_, command, options, line.strip()))
    return found


def prompt_files() -> dict[str, str]:
    return {name: (PROMPTS / name).read_text() for name in PROMPT_FILES}


def option_names(cmd: click.Command) -> set[str]:
    names = {"-h", "--help"}
    for param in cmd.params:
        if isinstance(param, click.Option):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def check_invocations(found, where: str) -> list[str]:
    """Problems with the hdecomp command lines: unknown commands or options."""
    problems = []
    global_opts = option_names(main)
    for globals_, command, options, line in found:
        for opt in globals_:
            if opt not in global_opts:
                problems.append(f"{where}: unknown global option {opt} in: {line}")
        if command.startswith(("<", "{")):
            continue  # a placeholder such as <command>
        cmd = main.commands.get(command)
        if cmd is None:
            problems.append(f"{where}: no command `hdecomp {command}` in: {line}")
            continue
        for opt in options:
            if opt not in option_names(cmd):
                problems.append(f"{where}: `hdecomp {command}` has no option {opt} in: {line}")
    return problems


# -- the prompt files -----------------------------------------------------------------------------

def test_prompt_files_exist_and_template_has_the_prompt():
    assert prompts_dir() == PROMPTS
    for name, text in prompt_files().items():
        assert text.strip(), name
    body = template_text()
    assert "{{MODEL}}" in body and "{{OUTPUT_DIR}}" in body and "{{PROMPTS_DIR}}" in body
    for name in ("MAIN_PROMPT.md", "VERIFICATION_GUIDE.md", "OUTPUT_SCHEMA.md"):
        assert f"{{{{PROMPTS_DIR}}}}/{name}" in body


def test_every_command_and_flag_in_the_prompts_exists():
    problems, commands = [], set()
    for name, text in prompt_files().items():
        found = invocations(code_lines(text))
        commands.update(c for _, c, _, _ in found)
        problems += check_invocations(found, name)
    assert not problems, "\n".join(problems)
    assert REQUIRED_COMMANDS <= commands, f"prompts never show: {REQUIRED_COMMANDS - commands}"


def test_every_flag_mentioned_alone_exists():
    """Flags quoted on their own (`--weight-map`, `--device cpu`) belong to some hdecomp command."""
    known = option_names(main)
    for cmd in main.commands.values():
        known |= option_names(cmd)
    problems = []
    for name, text in prompt_files().items():
        for line in code_lines(text):
            for flag in re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", line):
                if flag not in known:
                    problems.append(f"{name}: no hdecomp command has {flag}: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_bad_command_or_flag():
    found = invocations(code_lines("run `hdecomp lower m.py --shrink` then `hdecomp verifyy d`\n"
                                   "```bash\nhdecomp --debug verify-step --original a \\\n"
                                   "    --nope b\n```\n"))
    problems = check_invocations(found, "sample")
    assert len(problems) == 3, problems
    assert any("--shrink" in p for p in problems)
    assert any("verifyy" in p for p in problems)
    assert any("--nope" in p for p in problems)


def test_a_command_the_cli_lacks_fails_the_real_prompt_check():
    """test_every_command_and_flag_in_the_prompts_exists's check on a copy of the real prompts
    with one made-up command added: it must report exactly that line, so the real check cannot
    pass by reading nothing."""
    texts = prompt_files()
    texts["MAIN_PROMPT.md"] += "\n```bash\nhdecomp frobnicate out/model --fast\n```\n"
    problems = []
    for name, text in texts.items():
        problems += check_invocations(invocations(code_lines(text)), name)
    assert problems == ["MAIN_PROMPT.md: no command `hdecomp frobnicate` in: "
                        "hdecomp frobnicate out/model --fast"]


def short(x: float) -> str:
    """1e-05 -> 1e-5, as the guide writes it."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{x:.0e}")


def test_tolerances_in_the_guide_match_spec():
    import torch

    from hdecomp_ir.spec import COMPOSITION_ATOL, COMPOSITION_RTOL, TOLERANCES

    guide = (PROMPTS / "VERIFICATION_GUIDE.md").read_text()
    names = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
             torch.bfloat16: "bfloat16"}
    for dtype, label in names.items():
        rtol, atol = TOLERANCES[dtype]
        assert re.search(rf"\|\s*{label}\s*\|\s*{short(rtol)}\s*\|\s*{short(atol)}\s*\|",
                         guide), label
    assert f"rtol {short(COMPOSITION_RTOL)}, atol {short(COMPOSITION_ATOL)}" in guide


# -- the layout table against a real lowering ---------------------------------------------------

def layout_rows() -> list[dict[str, object]]:
    """Rows of the layout table in OUTPUT_SCHEMA.md: pattern, writers, when."""
    text = (PROMPTS / "OUTPUT_SCHEMA.md").read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        rows.append({"pattern": cells[0].strip("`"),
                     "writers": re.findall(r"`([^`]+)`", cells[1]) or [cells[1]],
                     "when": cells[2]})
    return rows


_DTYPES = "|".join(sorted(set(DTYPE_CODES.values()), key=len, reverse=True))
_LEVELS = "|".join(level.label for level in Level)
_PLACEHOLDERS = {
    "shape": None,  # handled with its leading underscore: optional
    "dtype": rf"(?:{_DTYPES})(?:_(?:{_DTYPES}))?",
    "op": r"[a-z][a-z0-9_]*?",
    "level": rf"(?:{_LEVELS})",
    "n": r"\d",
    "path": r"\S+",
}


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A documented path pattern as a regex over paths relative to the output directory."""
    out, pos = "", 0
    for m in re.finditer(r"_<shape>|<([a-z_]+)>|step_N_", pattern):
        out += re.escape(pattern[pos:m.start()])
        token = m.group(0)
        if token == "_<shape>":
            out += r"(?:_[0-9x_]+?)?"
        elif token == "step_N_":
            out += r"step_\d+_"
        else:
            out += _PLACEHOLDERS.get(m.group(1)) or r"[^/]+"
        pos = m.end()
    return re.compile(out + re.escape(pattern[pos:]) + r"\Z")


def documented_command(name: str) -> list[str]:
    """The first full `hdecomp NAME … <DIR> …` line of MAIN_PROMPT.md, as tokens with placeholders."""
    for line in code_lines((PROMPTS / "MAIN_PROMPT.md").read_text()):
        if re.search(rf"(?<![\w-])hdecomp {re.escape(name)} ", line) and "<DIR>" in line:
            argv = shlex.split(line.strip())
            assert argv[:2] == ["hdecomp", name], line
            return argv
    raise AssertionError(f"MAIN_PROMPT.md shows no `hdecomp {name}` command")


def run_documented(argv: list[str], **fill: str) -> subprocess.CompletedProcess:
    """Run a documented command with its <PLACEHOLDER>s filled in."""
    args = []
    for tok in argv[1:]:
        for key, value in fill.items():
            tok = tok.replace(f"<{key}>", value)
        assert "<" not in tok, f"unfilled placeholder in {tok}"
        args.append(tok)
    return subprocess.run([sys.executable, "-m", "hdecomp.cli", *args],
                          capture_output=True, text=True, timeout=600)


def tree_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """tiny_mlp put through the documented workflow: `lower` (here with --no-verify), the
    verify-step gate on every step, then the `verify` gate; the files after each stage."""
    out = tmp_path_factory.mktemp("prompts") / "tiny_mlp"
    run = run_documented(documented_command("lower") + ["--no-verify"],
                         MODEL=str(MODELS / "tiny_mlp.py"), DIR=str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    stages = {"lower": tree_files(out)}
    steps = sorted(p.name for p in (out / "steps").iterdir())
    assert steps, "lower wrote no step"
    for step in steps:
        run = run_documented(documented_command("verify-step"), DIR=str(out), step=step)
        assert run.returncode == 0, run.stdout + run.stderr
    stages["verify-step"] = tree_files(out)
    run = run_documented(documented_command("verify"), DIR=str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    stages["verify"] = tree_files(out)
    return {"dir": out, "stages": stages}


# What must exist after each stage of the workflow, by the "when" column of the layout table.
WHEN_STAGE = {"always": "verify-step", "verified": "verify"}


def test_layout_table_matches_the_workflow_output(lowered: dict):
    out, stages = lowered["dir"], lowered["stages"]
    tree = json.loads((out / "decomposition_tree.json").read_text())
    by_level = tree["metadata"]["by_level"]
    rows = layout_rows()
    assert len(rows) >= 15
    assert {row["when"] for row in rows} <= {"always", "verified", "level present", "needed"}
    regexes = {row["pattern"]: pattern_regex(row["pattern"]) for row in rows}
    problems = []
    for row in rows:
        for writer in row["writers"]:
            if writer != "agent" and writer not in main.commands:
                problems.append(f"{row['pattern']}: written by `{writer}`, no such command")
        if row["when"] in WHEN_STAGE:
            files = stages[WHEN_STAGE[row["when"]]]
            if not any(regexes[row["pattern"]].match(f) for f in files):
                problems.append(f"{row['pattern']}: nothing of this form after "
                                f"{WHEN_STAGE[row['when']]}: {files}")
        if row["when"] == "level present":
            folder = row["pattern"].split("/", 1)[0]
            level = next(lv for lv in Level if lv.folder == folder)
            hits = [f for f in stages["verify"] if regexes[row["pattern"]].match(f)]
            if bool(hits) != bool(by_level.get(level.label)):
                problems.append(f"{row['pattern']}: files {hits} but the tree has "
                                f"{by_level.get(level.label, 0)} {level.label} components")
    for f in stages["verify"]:
        if not any(rx.match(f) for rx in regexes.values()):
            problems.append(f"the workflow wrote {f}, which the layout table does not describe")
    assert not problems, "\n".join(problems)


def test_pattern_regex_examples():
    kernel = pattern_regex("level_0_kernel/<op>_<shape>_<dtype>.py")
    for name in ("linear_768x3072_fp32.py", "gelu_fp32.py", "embedding_50x16_i64_fp32.py",
                 "matmul_2x2x8x8_2x2x8x8_fp32.py", "layer_norm_16_fp32.py"):
        assert kernel.match(f"level_0_kernel/{name}"), name
    assert not kernel.match("level_0_kernel/linear_768x3072.py")
    step = pattern_regex("steps/step_N_<name>_to_<level>s/refactored.py")
    assert step.match("steps/step_2_block_16_fp32_to_fusions/refactored.py")
    assert not step.match("steps/step_x_block_to_fusions/refactored.py")


# -- hdecomp prompt -------------------------------------------------------------------------------

def render(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["prompt", *args])
    return result.exit_code, result.output


def test_prompt_for_the_example(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO)
    code, text = render([EXAMPLE])
    assert code == 0, text
    out = str(default_output_dir(Path(EXAMPLE)))
    assert EXAMPLE in text
    assert f"Output directory:  {out}" in text
    assert f"hdecomp verify {out}" in text
    assert f"--original {out}/steps/<step>/original.py" in text
    if (REPO / out / "decomposition_tree.json").is_file():
        assert "A draft exists" in text
    else:
        assert f"hdecomp lower {EXAMPLE} -o {out}" in text
    for name in ("MAIN_PROMPT.md", "VERIFICATION_GUIDE.md", "OUTPUT_SCHEMA.md"):
        assert str(PROMPTS / name) in text
        assert (PROMPTS / name).is_file()
    assert "{{" not in text and "}}" not in text
    problems = check_invocations(invocations(text.splitlines()), "hdecomp prompt")
    assert not problems, "\n".join(problems)


def test_prompt_points_at_an_existing_draft(lowered: dict):
    code, text = render([str(MODELS / "tiny_mlp.py"), "-o", str(lowered["dir"])])
    assert code == 0, text
    out = display_path(lowered["dir"])
    assert f"A draft exists in {out}; last verification: PASS: 1/1 steps passed" in text
    assert "hdecomp lower" not in text.split("## Protocol")[0]
    assert f"hdecomp verify {out}" in text


def test_prompt_for_a_new_directory_says_how_to_lower(tmp_path: Path):
    out = tmp_path / "fresh"
    code, text = render([str(MODELS / "tiny_mlp.py"), "-o", str(out), "--class", "Other"])
    assert code == 0, text
    model = display_path(MODELS / "tiny_mlp.py")
    assert f"hdecomp lower {model} -o {display_path(out)} --class Other" in text
    assert not out.exists()


def test_prompt_for_a_package_model_starts_with_wrapping(tmp_path: Path):
    wrapper = tmp_path / "llama_small.py"
    code, text = render([str(wrapper), "--input-type", "package",
                         "--source", "transformers:LlamaForCausalLM"])
    assert code == 0, text
    assert "Input type: package (transformers:LlamaForCausalLM)" in text
    assert "Round 0" in text and "llama_small_verify_wrapper.py" in text
    assert "After Round 0, make it with" in text


def test_prompt_rejects_bad_input(tmp_path: Path):
    code, text = render([str(tmp_path / "missing.py")])
    assert code == 2 and "model file not found" in text
    code, text = render([str(tmp_path / "w.py"), "--input-type", "repo"])
    assert code == 2 and "--source" in text
