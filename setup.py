"""What pyproject.toml cannot say yet: the optional C module of the import's checks.

``diapason.domain._fastprepare`` does the checks of ``diapason.domain.stix.prepare`` for
the objects that pass them (docs/store.md#the-c-accelerator). Optional: without a C
compiler the install goes on and every object takes the Python path, with the same results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "diapason.domain._fastprepare",
            sources=["src/diapason/domain/_fastprepare.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
