"""Keras' own RNN tests, run from the installed wheel against our scan layers.

The keras wheel ships `keras/src/layers/rnn/*_test.py`. Each test class is
collected twice here: once as Keras wrote it (the control: it shows the
installed tests pass on this machine with Keras' own layers), and once with
the names those modules use (`layers.SimpleRNN`, `layers.GRU`, `layers.LSTM`,
`layers.Bidirectional`, `layers.RNN`) pointing at ours for the duration of
each test. Nothing from Keras is copied here; tests that cannot apply to
the scan layers are skipped with the reason in `NOT_APPLICABLE`.
"""

from __future__ import annotations

import importlib
import types
import unittest

import keras
import pytest

from course.rnn import ScanBidirectional, ScanGRU, ScanLSTM, ScanRNN, ScanSimpleRNN

MODULES = ("simple_rnn", "gru", "lstm", "bidirectional", "rnn")
OURS = {
    "SimpleRNN": ScanSimpleRNN,
    "GRU": ScanGRU,
    "LSTM": ScanLSTM,
    "Bidirectional": ScanBidirectional,
    "RNN": ScanRNN,
}
# (module, test method) -> why it cannot apply to the scan layers.
NOT_APPLICABLE = {
    ("bidirectional", "test_fused_lstm_eligibility"): (
        "asserts on keras.layers.Bidirectional._can_attempt_fused_lstm, Keras' private cuDNN dispatch"
    ),
    ("bidirectional", "test_fused_gru_eligibility"): (
        "asserts on keras.layers.Bidirectional._can_attempt_fused_gru, Keras' private cuDNN dispatch"
    ),
}


def substituted_layers(mapping: dict[str, type]) -> types.ModuleType:
    """A stand-in for `keras.src.layers`: the names in `mapping` replaced, everything else Keras'."""
    real = importlib.import_module("keras.src.layers")
    stand_in = types.ModuleType("layers_with_scan_substitutes")
    stand_in.__getattr__ = lambda name: getattr(real, name)  # type: ignore[attr-defined]
    for name, cls in mapping.items():
        setattr(stand_in, name, cls)
    return stand_in


def keras_test_module(name: str) -> types.ModuleType:
    return importlib.import_module(f"keras.src.layers.rnn.{name}_test")


def keras_test_classes(module: types.ModuleType) -> list[type]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase) and obj.__module__ == module.__name__
    ]


def against(base: type, module: types.ModuleType, mapping: dict[str, type], short: str) -> type:
    """A subclass of Keras' test class whose every test sees `mapping` as `layers`."""
    stand_in = substituted_layers(mapping)

    def setUp(self: unittest.TestCase) -> None:
        original = module.layers
        module.layers = stand_in
        self.addCleanup(setattr, module, "layers", original)
        base.setUp(self)

    namespace: dict = {"setUp": setUp, "__module__": __name__}
    for (module_name, method), reason in NOT_APPLICABLE.items():
        if module_name == short and hasattr(base, method):
            namespace[method] = unittest.skip(f"not applicable to the scan layers: {reason}")(getattr(base, method))
    return type(f"Test{base.__name__}OnScanLayers_{short}", (base,), namespace)


def control(base: type, short: str) -> type:
    return type(f"Test{base.__name__}OnKerasLayers_{short}", (base,), {"__module__": __name__})


for _short in MODULES:
    _module = keras_test_module(_short)
    for _base in keras_test_classes(_module):
        _ours = against(_base, _module, OURS, _short)
        _control = control(_base, _short)
        globals()[_ours.__name__] = _ours
        globals()[_control.__name__] = _control
del _short, _module, _base, _ours, _control


class _WrongActivation(ScanSimpleRNN):
    """A deliberately broken substitute: relu where Keras' test expects tanh."""

    def __init__(self, units: int, **kwargs) -> None:
        kwargs["activation"] = "relu"
        super().__init__(units, **kwargs)


@pytest.mark.parametrize("substitute", [_WrongActivation])
def test_a_broken_substitute_fails_keras_tests(substitute):
    """The substitution reaches the tests: a wrong layer makes Keras' test fail."""
    module = keras_test_module("simple_rnn")
    base = keras_test_classes(module)[0]
    broken = against(base, module, {"SimpleRNN": substitute}, "simple_rnn")
    result = unittest.TestResult()
    broken("test_pass_initial_state").run(result)
    assert result.failures or result.errors, "Keras' test passed with a broken layer: the substitution is not in effect"
    assert module.layers is importlib.import_module("keras.src.layers"), "the stand-in leaked past the test"


def test_the_scan_run_sees_our_layers():
    module = keras_test_module("gru")
    seen = []

    class Spy(ScanGRU):
        def __init__(self, *args, **kwargs) -> None:
            seen.append(type(self))
            super().__init__(*args, **kwargs)

    spy_run = against(keras_test_classes(module)[0], module, {"GRU": Spy}, "gru")
    result = unittest.TestResult()
    spy_run("test_pass_return_state").run(result)
    assert not result.failures and not result.errors, result.failures + result.errors
    assert seen and all(cls is Spy for cls in seen)
    assert keras.layers.GRU is not ScanGRU
