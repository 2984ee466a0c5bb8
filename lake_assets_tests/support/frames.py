"""Small frames of a month's rows for the storage tests, made in the JVM."""


def month_frame(spark, values: list[int], partition: dict):
    """Rows (v, i94yr, i94mon) of one month, as a VALUES relation: Spark writes it without a
    Python worker, about twice as fast as `createDataFrame` of a list for these tiny writes."""
    year, month = int(partition["i94yr"]), int(partition["i94mon"])
    rows = ", ".join(f"({int(v)}, {year}, {month})" for v in values) or f"(0, {year}, {month})"
    df = spark.sql(f"select * from values {rows} as t(v, i94yr, i94mon)")
    return df if values else df.where("false")
