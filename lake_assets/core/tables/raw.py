"""The raw sources' columns as their readers (`lake_assets.core.sources`) return them: the schemas of
the `raw_*` assets, where the lake tables' column lineage starts."""

from lake_assets.core.tables.table import Column


def _strings(*columns: tuple[str, str]) -> tuple[Column, ...]:
    """CSV columns: read as strings."""
    return tuple(Column(name, "STRING", description) for name, description in columns)


# Numbers arrive as double, text as string, whatever the extract's format.
I94 = (
    Column("cicid", "DOUBLE", "record id, unique within its month"),
    Column("i94yr", "DOUBLE", "year of arrival (4 digits)"),
    Column("i94mon", "DOUBLE", "month of arrival (1-12)"),
    Column("i94cit", "DOUBLE", "country of citizenship code (label file i94cntyl)"),
    Column("i94res", "DOUBLE", "country of residence code (label file i94cntyl)"),
    Column("i94port", "STRING", "CBP port of entry code (label file i94prtl)"),
    Column("arrdate", "DOUBLE", "arrival date, SAS day number (days since 1960-01-01)"),
    Column("i94mode", "DOUBLE", "mode of arrival code: 1 Air, 2 Sea, 3 Land, 9 Not reported"),
    Column("i94addr", "STRING", "US state of the address in the US"),
    Column("depdate", "DOUBLE", "departure date, SAS day number"),
    Column("i94bir", "DOUBLE", "age in years"),
    Column("i94visa", "DOUBLE", "visa category code: 1 Business, 2 Pleasure, 3 Student"),
    Column("count", "DOUBLE", "always 1, for summary statistics"),
    Column("dtadfile", "STRING", "date the record was filed, YYYYMMDD"),
    Column("visapost", "STRING", "State Department office that issued the visa"),
    Column("occup", "STRING", "occupation in the US"),
    Column("entdepa", "STRING", "arrival flag"),
    Column("entdepd", "STRING", "departure flag"),
    Column("entdepu", "STRING", "update flag"),
    Column("matflag", "STRING", "match flag of arrival and departure records"),
    Column("biryear", "DOUBLE", "year of birth", personal=True),
    Column("dtaddto", "STRING", "admitted until, MMDDYYYY, or D/S (duration of status)"),
    Column("gender", "STRING", "gender"),
    Column("insnum", "STRING", "INS number", personal=True),
    Column("airline", "STRING", "airline of arrival"),
    Column("admnum", "DOUBLE", "admission number", personal=True),
    Column("fltno", "STRING", "flight number of arrival", personal=True),
    Column("visatype", "STRING", "visa type code (e.g. WT, B2, F1)"),
)
LABELS = (  # I94_SAS_Labels_Descriptions.SAS: one code list per I94 column
    Column("i94cntyl", "code list", "country codes of i94cit/i94res = country names"),
    Column("i94prtl", "code list", "port codes of i94port = 'CITY, ST' or a foreign place"),
    Column("i94model", "code list", "mode codes of i94mode = Air, Sea, Land, Not reported"),
    Column("i94addrl", "code list", "state codes of i94addr = state names"),
    Column("i94visa", "code list", "visa category codes of i94visa = Business, Pleasure, Student (a comment)"),
)
DEMOGRAPHICS = _strings(
    ("City", "city name"), ("State", "state name"), ("Median Age", "median age of the residents"),
    ("Male Population", "male residents"), ("Female Population", "female residents"),
    ("Total Population", "residents"), ("Number of Veterans", "veterans"), ("Foreign-born", "foreign-born residents"),
    ("Average Household Size", "mean persons per household"), ("State Code", "two-letter state code"),
    ("Race", "the race counted in Count (one row per city and race)"), ("Count", "residents of that race"),
)
AIRPORTS = _strings(
    ("ident", "airport identifier"), ("type", "large_airport, medium_airport, small_airport, heliport, …"),
    ("name", "airport name"), ("elevation_ft", "elevation, feet"), ("continent", "continent code"),
    ("iso_country", "ISO country code"), ("iso_region", "ISO region, e.g. US-NY"),
    ("municipality", "city served"), ("gps_code", "GPS code"), ("iata_code", "IATA code"),
    ("local_code", "local code"), ("coordinates", "'longitude, latitude'"),
)
TEMPERATURES = _strings(
    ("dt", "first day of the month, YYYY-MM-DD"), ("AverageTemperature", "monthly mean temperature, °C"),
    ("AverageTemperatureUncertainty", "95% confidence interval of the mean, °C"), ("City", "city name"),
    ("Country", "country name"), ("Latitude", "latitude of the grid point, e.g. 40.99N"),
    ("Longitude", "longitude of the grid point, e.g. 74.56W"),
)
RAW_COLUMNS: dict[str, tuple[Column, ...]] = {
    "raw_i94": I94, "raw_labels": LABELS, "raw_demographics": DEMOGRAPHICS, "raw_airports": AIRPORTS,
    "raw_temperatures": TEMPERATURES,
}
