"""The model registry: ``get_model(name)`` and ``list_models()``.

Adding a model means adding a module in :mod:`dalec.models` and one line here; nothing else in
the library branches on model names.
"""

from __future__ import annotations

from importlib import import_module

from .model import Model, ModelError

#: registry name -> (module, attribute); modules are imported on first use, so importing
#: ``dalec`` does not compile or load every kernel.
_ENTRIES: dict[str, tuple[str, str]] = {
    "400": ("dalec.models.dalec400", "MODEL"),
    "809": ("dalec.models.dalec811", "MODEL_809"),
    "811": ("dalec.models.dalec811", "MODEL_811"),
    "1005": ("dalec.models.dalec1005", "MODEL"),
    "C1": ("dalec.models.c1", "MODEL"),
    "DALEC.4": ("dalec.models.dalec4", "MODEL"),
}
_ALIASES = {
    "DALEC_400": "400",
    "DALEC_809": "809",
    "DALEC_811": "811",
    "DALEC_1005": "1005",
    # Edinburgh (GCEL CARDAMOM) names of DALEC.C1 (model id 2)
    "DALEC_C1": "C1",
    "DALEC.C1": "C1",
    "DALEC.C1.D1.F2.P1": "C1",
    "DALEC_CDEA_LU_FIRES": "C1",
    # Edinburgh names of DALEC.4 (model id 4)
    "DALEC4": "DALEC.4",
    "DALEC_4": "DALEC.4",
    "DALEC.A1.C1.D2.F2.H2.P1": "DALEC.4",
    "DALEC_CDEA_ACM2_BUCKET": "DALEC.4",
}
_EXTRA: dict[str, Model] = {}


def register(model: Model) -> None:
    """Register a user-defined model under ``model.name`` (replacing none of the built-ins).

    Parameters
    ----------
    model : Model
        The model; later :func:`get_model` calls with ``model.name`` return it. A second
        registration under the same name replaces the first.

    Raises
    ------
    ModelError
        ``model.name`` is the name of a built-in model.
    """
    if model.name in _ENTRIES:
        raise ModelError(f"model name {model.name!r} is taken by a built-in model")
    _EXTRA[model.name] = model


def list_models() -> list[str]:
    """Names of all registered models.

    Returns
    -------
    list of str
        Built-in and user-registered names, numeric names (``'400'``, ``'811'``) first in
        numeric order, then the others alphabetically.
    """
    return sorted({*_ENTRIES, *_EXTRA}, key=lambda s: (not s.isdigit(), s.zfill(8)))


def get_model(name) -> Model:
    """Return the registered model called ``name``.

    Parameters
    ----------
    name : str or int or Model
        Registry name (``"400"``, ``811``, ``"DALEC_811"``); a :class:`Model` is returned as is.

    Raises
    ------
    ModelError
        If no model of that name is registered; the message lists the registered names.

    Returns
    -------
    Model
        The model (a shared instance: do not modify it).
    """
    if isinstance(name, Model):
        return name
    key = str(name).strip()
    if isinstance(name, float) and float(name).is_integer():
        key = str(int(name))
    key = _ALIASES.get(key, key)
    if key in _EXTRA:
        return _EXTRA[key]
    if key not in _ENTRIES:
        raise ModelError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    module, attr = _ENTRIES[key]
    return getattr(import_module(module), attr)
