from typing import Any

import pytest
from sqlmodel import Session

from tests.app.factories import auth, make_account


@pytest.fixture
def h(db: Session, settings: Any) -> dict[str, dict[str, str]]:
    """Headers of an admin, two county officers and the province."""
    return {
        "admin": auth(make_account(db, "admin"), settings),
        "tongyu": auth(make_account(db, "county", "220822"), settings),  # 通榆县, 白城市, west
        "lishu": auth(make_account(db, "county", "220322"), settings),  # 梨树县, 四平市
        "province": auth(make_account(db, "province"), settings),
    }
