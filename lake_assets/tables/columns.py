"""Columns that several tables share, as (name, Spark SQL type, description).

Each table's columns are declared with the table; the required ones and their types are
those of LAKE_CONTRACT.md.
"""

# The I94 extract's columns as read (numbers arrive as double), kept as such in the rejects
# (the key and the partition columns under raw_<name>).
RAW_I94 = [
    ("raw_i94yr", "DOUBLE", "i94yr as read: year of arrival (4 digits)"),
    ("raw_i94mon", "DOUBLE", "i94mon as read: month of arrival (1-12)"),
    ("i94cit", "DOUBLE", "country of citizenship code (label file i94cntyl)"),
    ("i94res", "DOUBLE", "country of residence code (label file i94cntyl)"),
    ("i94port", "STRING", "CBP port of entry code (label file i94prtl)"),
    ("arrdate", "DOUBLE", "arrival date, SAS day number (days since 1960-01-01)"),
    ("i94mode", "DOUBLE", "mode of arrival code: 1 Air, 2 Sea, 3 Land, 9 Not reported"),
    ("i94addr", "STRING", "US state of the address in the US"),
    ("depdate", "DOUBLE", "departure date, SAS day number"),
    ("i94bir", "DOUBLE", "age in years"),
    ("i94visa", "DOUBLE", "visa category code: 1 Business, 2 Pleasure, 3 Student"),
    ("count", "DOUBLE", "always 1, for summary statistics"),
    ("dtadfile", "STRING", "date the record was filed, YYYYMMDD"),
    ("visapost", "STRING", "State Department office that issued the visa"),
    ("occup", "STRING", "occupation in the US"),
    ("entdepa", "STRING", "arrival flag"),
    ("entdepd", "STRING", "departure flag"),
    ("entdepu", "STRING", "update flag"),
    ("matflag", "STRING", "match flag of arrival and departure records"),
    ("biryear", "DOUBLE", "year of birth"),
    ("dtaddto", "STRING", "admitted until, MMDDYYYY, or D/S (duration of status)"),
    ("gender", "STRING", "gender"),
    ("insnum", "STRING", "INS number"),
    ("airline", "STRING", "airline of arrival"),
    ("admnum", "DOUBLE", "admission number"),
    ("fltno", "STRING", "flight number of arrival"),
    ("visatype", "STRING", "visa type code (e.g. WT, B2, F1)"),
]

CITY_ID = ("city_id", "STRING", "city key <state>-<city-slug> (NY-new-york), the same on every run")
STATE_CODE = ("state_code", "STRING", "two-letter US state code")
VISA_TYPE = ("visa_type", "STRING", "visa type (e.g. WT, B2, F1)")
VISA_CATEGORY = ("visa_category", "STRING", "Business, Pleasure or Student")
AVG_TEMPERATURE = ("avg_temperature_c", "DOUBLE", "mean temperature of the city in that month, °C")
