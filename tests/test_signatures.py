"""The sampling rate is passed, never assumed: no function or method in the package has a default rate."""

import ast
import importlib
import inspect
import pkgutil
import warnings

import pytest

import ecgutils

RATE_NAMES = ("fs", "fs_in", "fs_out")
#: Layers whose every rate parameter is also keyword-only (``f(x, *, fs)``): a rate is never passed by position.
KEYWORD_ONLY = ("ecgutils.dsp", "ecgutils.io", "ecgutils.data", "ecgutils.evaluation.metrics",
                "ecgutils.evaluation.detection", "ecgutils.evaluation.denoising", "ecgutils.export")


def _modules():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [importlib.import_module(m.name) for m in pkgutil.walk_packages(ecgutils.__path__, "ecgutils.")
                if m.name != "ecgutils._compat"]


def _functions():
    """``(qualified name, function)`` of every function and method defined in the package (dataclass
    ``__init__`` included)."""
    out = {}
    for mod in _modules():
        for name, obj in vars(mod).items():
            if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
                out[f"{mod.__name__}.{name}"] = obj
            elif inspect.isclass(obj) and obj.__module__ == mod.__name__:
                for attr, member in vars(obj).items():
                    member = getattr(member, "__func__", member)  # staticmethod, classmethod
                    if inspect.isfunction(member):
                        out[f"{mod.__name__}.{name}.{attr}"] = member
    return out


def _rate_params(fn):
    return [p for p in inspect.signature(fn).parameters.values() if p.name in RATE_NAMES]


def test_the_scan_sees_the_rate_parameters():
    found = {name for name, fn in _functions().items() if _rate_params(fn)}
    for expected in ("ecgutils.dsp.filters.ecg_bandpass", "ecgutils.dsp.resampling.resample",
                     "ecgutils.evaluation.metrics.match_beats", "ecgutils.export.export_recording",
                     "ecgutils.data.windows.WindowSet.__init__", "ecgutils.dsp.peaks.CausalPicker.__init__"):
        assert expected in found


def test_no_function_has_a_default_sampling_rate():
    bad = [f"{name}({p.name}={p.default!r})" for name, fn in _functions().items() for p in _rate_params(fn)
           if p.default is not inspect.Parameter.empty]
    assert bad == [], "a sampling rate must be passed, never a default: " + ", ".join(bad)


def test_rate_parameters_are_keyword_only_in_the_signal_layers():
    bad = [f"{name}({p.name})" for name, fn in _functions().items() if name.startswith(KEYWORD_ONLY)
           for p in _rate_params(fn) if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert bad == [], "pass the rate by keyword, def f(x, *, fs): " + ", ".join(bad)


def _is_360(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 360


def _literal_rates(tree) -> list:
    """Line numbers where 360 is used as a rate: in arithmetic (``12 / 360``, ``t * 360``), as a default value, or
    passed as ``fs=``; a count of 360 things (``[:360]``) is no rate."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and (_is_360(node.left) or _is_360(node.right)):
            lines.append(node.lineno)
        elif isinstance(node, ast.arguments) and any(_is_360(d) for d in node.defaults + node.kw_defaults if d):
            lines.append(node.defaults[0].lineno if node.defaults else node.kw_defaults[0].lineno)
        elif isinstance(node, ast.keyword) and node.arg in RATE_NAMES and _is_360(node.value):
            lines.append(node.value.lineno)
    return lines


def test_the_literal_rate_scan_sees_rates_and_not_counts():
    assert sorted(_literal_rates(ast.parse("a = 12 / 360\nb = f(x, fs=360)\ndef g(x, r=360): pass"))) == [1, 2, 3]
    assert _literal_rates(ast.parse("tens = windows[:360]\nn = range(360)")) == []


def test_no_literal_native_rate_in_the_code():
    """360 Hz is written once, in ``ecgutils.constants``; docstrings and comments may say it."""
    hits = []
    for mod in _modules():
        if mod.__name__ == "ecgutils.constants" or not getattr(mod, "__file__", None):
            continue
        hits += [f"{mod.__name__}:{line}" for line in _literal_rates(ast.parse(inspect.getsource(mod)))]
    assert hits == [], "use ecgutils.constants.FS: " + ", ".join(hits)


@pytest.mark.parametrize("call", [
    lambda: ecgutils.dsp.filters.ecg_bandpass([0.0] * 100),
    lambda: ecgutils.evaluation.metrics.match_beats([1], [1]),
    lambda: ecgutils.dsp.resampling.resample([0.0] * 10, 250, 360),
])
def test_a_call_without_the_rate_is_an_error(call):
    import ecgutils.dsp.filters  # noqa: F401
    import ecgutils.dsp.resampling  # noqa: F401
    import ecgutils.evaluation.metrics  # noqa: F401

    with pytest.raises(TypeError):
        call()
