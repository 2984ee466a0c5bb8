"""The fact table's partitions: one per month of 2016."""

from dagster import MonthlyPartitionsDefinition

monthly_partitions = MonthlyPartitionsDefinition(start_date="2016-01-01", end_date="2017-01-01")
