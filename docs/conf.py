"""Sphinx configuration: MyST markdown pages, autodoc with numpydoc-style docstrings.

Build: ``sphinx-build -W -b html docs docs/_build`` (``make docs``); warnings are errors.
The nomenclature page is generated here from :mod:`dalec.variables` and the model tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "dalec-mdf"
author = "dalec-mdf developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated_*"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"
html_theme = "alabaster"
suppress_warnings = ["myst.header"]


def _nomenclature() -> str:
    import dalec
    from dalec.variables import VARIABLES

    lines = [
        "# Nomenclature",
        "",
        "Every variable the library reads or writes, from the registry in `dalec/variables.py`",
        "(generated when the docs are built). Units are UDUNITS strings; NEE/NBE are positive",
        "for a source.",
        "",
        "| name | long name | units | CF standard name |",
        "|---|---|---|---|",
    ]
    for name in sorted(VARIABLES):
        a = VARIABLES[name]
        lines.append(f"| `{name}` | {a.get('long_name', '')} | `{a.get('units', '')}` | "
                     f"{a.get('standard_name', '')} |")
    for model_name in dalec.list_models():
        model = dalec.get_model(model_name)
        lines += ["", f"## Parameters of model {model.name}", "", model.description, "",
                  "| # | name | symbol | units | min | max | scale | meaning |",
                  "|---|---|---|---|---|---|---|---|"]
        for i, p in enumerate(model.parameters):
            lines.append(f"| {i} | `{p.name}` | {p.symbol} | `{p.units}` | {p.min:g} | "
                         f"{p.max:g} | {'log' if p.log else 'linear'} | {p.description} |")
    return "\n".join(lines) + "\n"


(Path(__file__).parent / "nomenclature.md").write_text(_nomenclature())
