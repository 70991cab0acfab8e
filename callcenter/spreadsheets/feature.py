"""Uploaded spreadsheets: no routes of their own; the Upload records of the
customer, DND and head-count files the features above read with them."""
from callcenter.feature import Feature
from callcenter.spreadsheets import models

FEATURE = Feature(
    name="spreadsheets",
    tables=models,
    summary="Uploaded spreadsheets (CSV, XLSX) and the record of each upload",
)
