"""One pure normaliser per external alert format: payload dict in, `Signal`s out.

Each module exposes `normalise(payload) -> list[Signal]` and raises `UnparseablePayload` for a
payload no retry can fix. `detect.normalise_any` picks the module by the payload's shape.
"""
