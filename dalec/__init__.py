"""DALEC carbon-cycle models as Numba kernels, with an xarray front end.

>>> import dalec
>>> dalec.list_models()
['400', '809', '811', '1005', 'C1', 'DALEC.4']
>>> model = dalec.get_model("400")
>>> model.n_parameters
23
"""

from .api import run
from .model import Model, ModelError, Parameter
from .registry import get_model, list_models, register
from .variables import VARIABLES

__all__ = [
    "Model",
    "ModelError",
    "Parameter",
    "VARIABLES",
    "get_model",
    "list_models",
    "register",
    "run",
]
__version__ = "0.1.0.dev0"
