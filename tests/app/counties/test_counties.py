from fastapi.testclient import TestClient


def test_sixty_counties_with_regions(client: TestClient) -> None:
    counties = client.get("/api/v1/counties").json()
    assert len(counties) == 60
    assert {c["region"] for c in counties} == {"east", "central", "west"}
    assert sum(c["poverty_county_2018"] for c in counties) == 8


def test_filters(client: TestClient) -> None:
    baicheng = client.get("/api/v1/counties", params={"prefecture": "白城市"}).json()
    assert {c["name"] for c in baicheng} == {"洮北区", "镇赉县", "通榆县", "洮南市", "大安市"}
    west = client.get("/api/v1/counties", params={"region": "west"}).json()
    assert {c["prefecture"] for c in west} == {"白城市", "松原市"}
    assert client.get("/api/v1/counties", params={"region": "north"}).status_code == 422


def test_one_county(client: TestClient) -> None:
    county = client.get("/api/v1/counties/220822").json()
    assert county["name"] == "通榆县"
    assert county["region_name"] == "西部"
    missing = client.get("/api/v1/counties/229999")
    assert missing.status_code == 404
    assert missing.json()["message"] == "县（市、区）不存在"
    assert client.get("/api/v1/counties/abc").status_code == 422
