"""Every public name has a numpydoc docstring that documents its signature.

Public means: each name in the ``__all__`` of ``dalec``, ``drivers`` and ``mdf``, and the
public functions and classes defined in ``mdf.calibration``, ``mdf.results``, ``mdf.batch``,
``mdf.merge``, ``mdf.validation`` and ``drivers`` itself (``read``, ``write``). Each must have

- a summary line (the first line of the docstring is not empty);
- for a callable with parameters: a ``Parameters`` section naming every parameter of
  ``inspect.signature`` (``self``, ``*args``, ``**kwargs`` and private ``_names`` excepted;
  a class may name its constructor's parameters under ``Attributes`` instead, as dataclass
  fields are both);
- for a function that returns a value: a ``Returns`` (or ``Yields``) section. A function
  returns a value when it has a return annotation other than ``None``, or, without an
  annotation, when its source has a ``return <value>`` (or ``yield``) of its own, not in a
  nested function.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap

import pytest

PACKAGES = ("dalec", "drivers", "mdf")
MODULES = ("mdf.calibration", "mdf.results", "mdf.batch", "mdf.merge", "mdf.validation",
           "drivers")

_HEADER = re.compile(r"^\s*([A-Z][A-Za-z ]+)\n\s*-{3,}\s*$", re.M)
_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_][\w]*)*)\s*(?::.*)?$")


def sections(doc: str) -> dict[str, str]:
    """Split a numpydoc docstring into its sections (``{'Parameters': body, ...}``)."""
    doc = inspect.cleandoc(doc)
    out = {}
    matches = list(_HEADER.finditer(doc))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        out[m.group(1).strip()] = doc[m.end():end]
    return out


def documented_names(body: str) -> set[str]:
    """Names of the entries of a Parameters-like section (the unindented lines)."""
    names = set()
    for line in textwrap.dedent(body.strip("\n")).splitlines():
        if not line or line[0].isspace():
            continue
        m = _ENTRY.match(line.strip())
        if m:
            names.update(n.strip().lstrip("*") for n in m.group(1).split(","))
    return names


def _public_objects():
    seen = {}
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            seen[f"{pkg}.{name}"] = getattr(mod, name)
    for modname in MODULES:
        mod = importlib.import_module(modname)
        for name, obj in vars(mod).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != modname:
                continue
            seen.setdefault(f"{modname}.{name}", obj)
    return seen


OBJECTS = _public_objects()


def _signature_params(obj) -> list[str]:
    target = obj
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return []
        target = obj.__init__ if "__init__" in vars(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.name not in ("self", "cls") and not p.name.startswith("_")
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _own_returns_value(func) -> bool:
    try:
        src = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return False
    tree = ast.parse(src)
    fn = tree.body[0]

    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
                continue
            if isinstance(child, ast.Return) and child.value is not None and not (
                    isinstance(child.value, ast.Constant) and child.value.value is None):
                return True
            if isinstance(child, (ast.Yield, ast.YieldFrom)):
                return True
            if walk(child):
                return True
        return False

    return walk(fn)


def returns_value(func) -> bool:
    """Whether a function must document what it returns (see the module docstring)."""
    ann = inspect.signature(func).return_annotation
    if ann is inspect.Signature.empty:
        return _own_returns_value(func)
    return ann not in (None, "None", type(None))


def problems(qualname: str, obj) -> list[str]:
    """What is missing from ``obj``'s docstring (empty when it is complete)."""
    if not callable(obj):
        return []
    doc = obj.__doc__ if (inspect.isclass(obj) or inspect.isroutine(obj)) else None
    if inspect.isclass(obj) and doc is not None and doc == getattr(obj.__mro__[1], "__doc__",
                                                                   None):
        doc = None  # inherited, e.g. from Exception
    if not doc or not doc.strip() or not inspect.cleandoc(doc).splitlines()[0].strip():
        return [f"{qualname}: no docstring summary line"]
    secs = sections(doc)
    out = []
    params = _signature_params(obj)
    if params:
        named = documented_names(secs.get("Parameters", ""))
        if inspect.isclass(obj):
            named |= documented_names(secs.get("Attributes", ""))
        missing = [p for p in params if p not in named]
        if "Parameters" not in secs and not (inspect.isclass(obj) and "Attributes" in secs):
            out.append(f"{qualname}: no Parameters section (signature: {params})")
        elif missing:
            out.append(f"{qualname}: Parameters section lacks {missing}")
    if inspect.isfunction(obj) and returns_value(obj):
        if "Returns" not in secs and "Yields" not in secs:
            out.append(f"{qualname}: returns a value but has no Returns section")
    return out


@pytest.mark.parametrize("qualname", sorted(OBJECTS))
def test_public_docstring(qualname):
    assert problems(qualname, OBJECTS[qualname]) == []


def test_checker_catches_what_is_missing():
    def no_doc(a):
        return a

    def no_params(a, b=1):
        """Summary.

        Returns
        -------
        int
        """
        return a + b

    def lacks_one(a, b, *args, **kwargs):
        """Summary.

        Parameters
        ----------
        a : float
            A [m].
        """

    def no_returns(a):
        """Summary.

        Parameters
        ----------
        a : float
            A [m].
        """
        return a

    def complete(a, b, *args, **kwargs) -> float:
        """Summary.

        Parameters
        ----------
        a, b : float
            Lengths [m].
        **kwargs
            Ignored.

        Returns
        -------
        float
            Their sum [m].
        """
        return a + b

    def returns_none(a) -> None:
        """Summary.

        Parameters
        ----------
        a : float
            A [m].
        """

    assert problems("no_doc", no_doc) == ["no_doc: no docstring summary line"]
    assert "no Parameters section" in problems("no_params", no_params)[0]
    assert problems("lacks_one", lacks_one) == ["lacks_one: Parameters section lacks ['b']"]
    assert problems("no_returns", no_returns) == [
        "no_returns: returns a value but has no Returns section"]
    assert problems("complete", complete) == []
    assert problems("returns_none", returns_none) == []
