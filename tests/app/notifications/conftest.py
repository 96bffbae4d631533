from tests.app.placements.conftest import placed  # noqa: F401  (the same small county world)
