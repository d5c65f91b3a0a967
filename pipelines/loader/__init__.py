"""The raw loader's parts: staging in one pass, checks before the swap, the swap, the file index.

`pipelines.loading.load_raw_table` is the entry point; these modules are its steps.
"""
