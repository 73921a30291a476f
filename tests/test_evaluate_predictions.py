"""``ftrl evaluate --predictions``: ftrl's ``tag prob`` and Vowpal Wabbit's ``prob tag``."""

from __future__ import annotations

import json

import pytest
from clirun import ftrl, sample

from ftrl_cli.commands.evaluate import read_predictions
from ftrl_cli.errors import InputError


def _write(tmp_path, text: str) -> str:
    p = tmp_path / "p.txt"
    p.write_text(text)
    return str(p)


def test_both_orders_and_a_bare_probability(tmp_path) -> None:
    ftrl_order = _write(tmp_path, "ad1 0.25\n0.5\nad3 0.75\n")
    assert read_predictions(ftrl_order).tolist() == [0.25, 0.5, 0.75]
    vw_order = _write(tmp_path, "0.762432 tagA\n0.1 tagB\n")
    assert read_predictions(vw_order).tolist() == [0.762432, 0.1]


def test_numeric_tags_follow_the_files_order(tmp_path) -> None:
    # no line decides: the tag comes first, as ftrl writes it
    assert read_predictions(_write(tmp_path, "1 0.25\n0 0.75\n")).tolist() == [0.25, 0.75]
    # the second line decides Vowpal Wabbit's order, and the first follows it
    assert read_predictions(_write(tmp_path, "0.25 1\n0.75 tagB\n0.5 0\n")).tolist() == [
        0.25, 0.75, 0.5]
    assert read_predictions(_write(tmp_path, "0.25 1\ntagB 0.75\n")).tolist() == [1.0, 0.75]


def test_mixed_orders_and_bad_lines_are_errors(tmp_path) -> None:
    with pytest.raises(InputError, match=r"p.txt:2: the probability comes last here but "
                                         r"first on line 1"):
        read_predictions(_write(tmp_path, "0.3 a\nb 0.4\n"))
    with pytest.raises(InputError, match=r"p.txt:1: no probability in \[0, 1\]"):
        read_predictions(_write(tmp_path, "a 3\n"))
    with pytest.raises(InputError, match=r"p.txt:2: expected 'probability'"):
        read_predictions(_write(tmp_path, "0.5\na b 0.5\n"))


def test_vw_ordered_file_scores_like_the_model(tmp_path) -> None:
    model = tmp_path / "m.parquet"
    assert ftrl("train", sample("train.vw"), "-o", model, "--quiet", "-b", "16").code == 0
    tagged = tmp_path / "t.vw"
    with open(sample("test.vw")) as fh:
        lines = fh.read().splitlines()
    tagged.write_text("".join(f"{ln.split('|', 1)[0]}'r{i} |{ln.split('|', 1)[1]}\n"
                              for i, ln in enumerate(lines)))
    direct = json.loads(ftrl("evaluate", "-m", model, tagged, "--json").out)
    ours = ftrl("predict", "-m", model, tagged).out.splitlines()
    assert ours[0].startswith("r0 ")
    vw = tmp_path / "vw.txt"
    vw.write_text("".join(f"{p} {t}\n" for t, p in (ln.split() for ln in ours)))
    r = ftrl("evaluate", "--predictions", vw, tagged, "--json")
    assert r.code == 0, r.err
    got = json.loads(r.out)
    assert got == pytest.approx(direct, rel=1e-6)
