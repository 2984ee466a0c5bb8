"""Columns that several tables share (each table names the columns it computes them from with
`Column.of`).

Each table's columns are declared with the table; the required ones and their types are
those of LAKE_CONTRACT.md.
"""

from lake_assets.core.tables.table import Column

CITY_ID = Column("city_id", "STRING", "city key <state>-<city-slug> (NY-new-york), the same on every run")
STATE_CODE = Column("state_code", "STRING", "two-letter US state code")
VISA_TYPE = Column("visa_type", "STRING", "visa type (e.g. WT, B2, F1)")
VISA_CATEGORY = Column("visa_category", "STRING", "Business, Pleasure or Student")
AVG_TEMPERATURE = Column("avg_temperature_c", "DOUBLE", "mean temperature of the city in that month, °C")
