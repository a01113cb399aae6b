"""Rows: from archived files to parsed lines (formats, read, grep, decompression, Dask)."""
