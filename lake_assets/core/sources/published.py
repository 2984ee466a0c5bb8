"""The sources as their publishers ship them: file names, columns, month names; and SourceError,
raised when a source is missing or is not that."""

from __future__ import annotations

LABELS_FILE = "I94_SAS_Labels_Descriptions.SAS"
DEMOGRAPHICS_FILE = "us-cities-demographics.csv"
AIRPORTS_GLOB = "airport-codes*.csv"
TEMPERATURE_GLOBS = ("GlobalLandTemperaturesBy*.csv", "GlobalLandTemperaturesBy*.csv.gz")

# The 28 columns of every I94 month, by name; numeric ones arrive as double.
I94_NUMERIC = [
    "cicid", "i94yr", "i94mon", "i94cit", "i94res", "arrdate", "i94mode", "depdate",
    "i94bir", "i94visa", "count", "biryear", "admnum",
]
I94_COLUMNS = [
    "cicid", "i94yr", "i94mon", "i94cit", "i94res", "i94port", "arrdate", "i94mode", "i94addr",
    "depdate", "i94bir", "i94visa", "count", "dtadfile", "visapost", "occup", "entdepa",
    "entdepd", "entdepu", "matflag", "biryear", "dtaddto", "gender", "insnum", "airline",
    "admnum", "fltno", "visatype",
]
MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

DEMOGRAPHICS_COLUMNS = [
    "City", "State", "Median Age", "Male Population", "Female Population", "Total Population",
    "Number of Veterans", "Foreign-born", "Average Household Size", "State Code", "Race", "Count",
]
AIRPORT_COLUMNS = [
    "ident", "type", "name", "elevation_ft", "continent", "iso_country", "iso_region",
    "municipality", "gps_code", "iata_code", "local_code", "coordinates",
]
TEMPERATURE_COLUMNS = [
    "dt", "AverageTemperature", "AverageTemperatureUncertainty", "City", "Country",
    "Latitude", "Longitude",
]


class SourceError(Exception):
    """A raw source is missing or malformed: the message names the file and the problem."""

    def __init__(self, path, problem: str, fix: str | None = None):
        self.path = str(path)
        message = f"{path}: {problem}"
        super().__init__(message + (f" ({fix})" if fix else ""))
