"""Pure domain logic: no I/O, plain functions and frozen dataclasses."""
