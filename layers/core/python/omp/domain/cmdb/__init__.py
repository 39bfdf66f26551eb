"""The CMDB's pure domain: CI types, configuration items, relations, the history hash chain."""
