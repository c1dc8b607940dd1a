"""Traffik's executable specification, shipped so backend authors can run it.

Two parts:

* **generated checks** (:func:`parse_reference` + :func:`generate_cases`): every
  import, parameter, method, attribute, header builder, configuration entry and
  example of ``spec/api-reference.md`` becomes one check whose id names the
  reference entry (``HTTPThrottle.param[rate]``);
* **behavioural contracts** (the ``test_*`` modules of this package): limits,
  cost, ``peek``, namespaces, lifespan and persistence, and the throttle-level
  promises, run once per backend registered through the ``traffik`` entry
  points.

A third-party backend package installs traffik-testing, whose ``pytest11``
entry point loads the plugin, and runs the contracts with::

    pytest --traffik-spec --traffik-backend=NAME

(see :mod:`traffik.testing.pytest_plugin` for the fixture that builds a backend
which cannot be built from ``namespace``, ``persistent`` and ``clock`` alone).
"""

from traffik.testing.spec._backends import BackendBuilder, BackendFactory, default_builder
from traffik.testing.spec._connections import make_request
from traffik.testing.spec._environment import SpecEnvironment
from traffik.testing.spec._generated import SpecCase, generate_cases
from traffik.testing.spec._reference import Entry, Reference, parse_reference

__all__ = [
    "BackendBuilder",
    "BackendFactory",
    "Entry",
    "Reference",
    "SpecCase",
    "SpecEnvironment",
    "default_builder",
    "generate_cases",
    "make_request",
    "parse_reference",
]
