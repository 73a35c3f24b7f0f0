"""The few nltk modules the paper convention uses, imported without running ``nltk/__init__.py``.

``import nltk`` costs about 0.7 s of every ``altbench score``: its ``__init__`` imports nearly all of nltk,
and ``nltk.collocations`` pulls in ``scipy.stats``. The paper convention needs only ``nltk.data`` (the data
path and ``find``), ``nltk.tokenize.destructive`` and ``nltk.tokenize.punkt`` (``word_tokenize``'s two
halves) and ``nltk.stem.porter``: about 0.07 s on their own.

:func:`module` imports those four (all at once) under the packages ``nltk``, ``nltk.tokenize`` and
``nltk.stem`` put into ``sys.modules`` as their real module objects, but of class :class:`_Deferred`,
their ``__init__`` not run. Everything nltk's own modules do with them meanwhile works (``from nltk import
pathsec`` inside ``nltk.data.find``: the submodule attributes are there). The first use of anything else
runs nltk's ``__init__`` in those same objects, so the result is what a plain ``import nltk`` gives, with
the light submodules shared (one ``nltk.data.path``, one set of classes):

* an attribute a deferred package lacks (``nltk.word_tokenize``, ``nltk.__version__``, ``from nltk import
  corpus``) -> :meth:`_Deferred.__getattr__`;
* an import of any other nltk submodule (``from nltk.translate.bleu_score import ...``) -> :class:`_Hook`,
  first on ``sys.meta_path``, which then hands the import system the module that ``__init__`` loaded (the
  import system would otherwise execute it a second time).

``tests/test_nltk_light.py`` checks that a full nltk works afterwards in the same process. When nltk
is already imported, or the light import fails (say a future nltk whose submodules need its ``__init__``),
:func:`module` is an ordinary import.

Why it stays with the executor's worker processes (:mod:`altbench.executor`): they do not make it unnecessary.
With ``--jobs 1`` (or one usable core) the paper convention runs in this process, and with workers their fork
server imports these modules once for all of them; either way a plain ``import nltk`` would cost that
interpreter its 0.7 s. And it cannot be done without ``sys.modules``: nltk's own modules import their package
(``from nltk import pathsec``, ``nltk.data`` inside the tokenizers), so loading the files under other names
would give a second ``nltk`` (another ``nltk.data.path``, other classes) beside any real one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

LIGHT = ("nltk.data", "nltk.tokenize.destructive", "nltk.tokenize.punkt", "nltk.stem.porter")
PACKAGES = ("nltk", "nltk.tokenize", "nltk.stem")  # in sys.modules, __init__ not yet run
_lock = threading.RLock()
_state = {"light_phase": False}


class _Deferred(ModuleType):
    """A package whose ``__init__`` has not run: the first attribute it lacks completes nltk."""

    def __getattr__(self, name: str):
        if _state["light_phase"]:
            raise AttributeError(name)
        with _lock:
            if isinstance(sys.modules.get("nltk"), _Deferred):
                complete()  # nltk's __init__ first; it runs this package's where a plain import would
            elif isinstance(self, _Deferred):  # nltk's __init__ is running and needs this package now
                _run_init(self)
        return getattr(self, name)


def _run_init(mod: ModuleType) -> None:
    mod.__class__ = ModuleType
    mod.__spec__.loader.exec_module(mod)


def complete() -> None:
    """Run the ``__init__`` of the deferred packages: nltk's, which runs the others as it needs them (the
    order of a plain ``import nltk``), then any it did not need."""
    with _lock:
        for name in PACKAGES:
            mod = sys.modules.get(name)
            if isinstance(mod, _Deferred):
                _run_init(mod)


class _Hook(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Completes nltk before any nltk module outside the light set is imported."""

    def __init__(self) -> None:
        self.loaded: dict[str, tuple[ModuleType, object]] = {}

    def find_spec(self, fullname, path=None, target=None):
        if _state["light_phase"] or not fullname.startswith("nltk."):
            return None
        if not isinstance(sys.modules.get("nltk"), _Deferred):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            return None
        complete()
        mod = sys.modules.get(fullname)
        if mod is None:  # not imported by nltk's __init__: found as usual
            return None
        # The import system, given a spec, creates and executes a module for it; give it this one back,
        # taken out of sys.modules so that it does not swap in the module's own spec (and execute it again).
        self.loaded[fullname] = (sys.modules.pop(fullname), mod.__spec__)
        return importlib.machinery.ModuleSpec(fullname, self, origin=getattr(mod.__spec__, "origin", None))

    def create_module(self, spec):
        return self.loaded[spec.name][0]

    def exec_module(self, module) -> None:
        module.__spec__ = self.loaded.pop(module.__name__)[1]  # its own spec again, as a plain import left it


_hook = _Hook()


def module(name: str) -> ModuleType:
    """``importlib.import_module(name)`` for a name in :data:`LIGHT`, without nltk's ``__init__`` when
    nltk is not imported yet. Anything else of nltk used afterwards completes it (slowly, correctly)."""
    found = sys.modules.get(name)
    if found is not None:
        return found
    with _lock:
        if name in LIGHT and not any(p in sys.modules for p in PACKAGES):
            _light_import()
        return importlib.import_module(name)


def _light_import() -> None:
    before = set(sys.modules)
    _state["light_phase"] = True
    try:
        for name in PACKAGES:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None or spec.submodule_search_locations is None:
                raise ImportError(name)
            mod = importlib.util.module_from_spec(spec)
            mod.__class__ = _Deferred
            sys.modules[name] = mod
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, mod)
        for name in LIGHT:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - e.g. a future nltk whose submodules need its __init__: import it plainly
        for name in set(sys.modules) - before:
            if name == "nltk" or name.startswith("nltk."):
                del sys.modules[name]
        return
    finally:
        _state["light_phase"] = False
    if _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)


def version() -> str:
    """``nltk.__version__`` (nltk reads it from its VERSION file), without importing nltk's ``__init__``."""
    loaded = sys.modules.get("nltk")
    if loaded is not None and "__version__" in vars(loaded):
        return loaded.__version__
    spec = importlib.util.find_spec("nltk") if loaded is None else loaded.__spec__
    return (Path(spec.origin).parent / "VERSION").read_text().strip()
