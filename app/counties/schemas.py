from pydantic import BaseModel

from app.common import Region


class CountyPublic(BaseModel):
    code: str
    name: str
    prefecture: str
    kind: str
    region: Region
    region_name: str
    poverty_county_2018: bool
