"""The placement tests' small county world (two counties, two talents, a need) serves here too."""

from tests.app.placements.conftest import placed

__all__ = ["placed"]
