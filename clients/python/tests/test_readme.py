"""The Python snippets of README.md and clients/python/README.md run as written (against
a real server, their address replaced)."""

from __future__ import annotations

import re

import pytest

from conftest import REPO

SNIPPETS = [(path, block) for path in ("README.md", "clients/python/README.md")
            for block in re.findall(r"```python\n(.*?)```", (REPO / path).read_text(), re.S)]


def test_there_are_snippets():
    assert {p for p, _ in SNIPPETS} == {"README.md", "clients/python/README.md"}


@pytest.mark.parametrize("path,code", SNIPPETS, ids=[p for p, _ in SNIPPETS])
def test_snippet_runs(server, path, code, capsys):
    assert "127.0.0.1:4410" in code
    exec(compile(code.replace("127.0.0.1:4410", server.address), path, "exec"), {})
    if "print(result.status)" in code:
        assert capsys.readouterr().out.strip() == "created"
