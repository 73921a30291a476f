import os

# Keras runs on its NumPy backend in float64 for the parity tests.
os.environ.setdefault("KERAS_BACKEND", "numpy")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def keras():
    keras = pytest.importorskip("keras")
    keras.config.set_floatx("float64")
    return keras
