"""om-platform benchmarks: speed, cost and size figures, each runnable on its own.

    python -m bench                 every benchmark; results in bench/results/*.json
    python -m bench.cold_start      import time of every catalog handler vs bare powertools
    python -m bench.aws_calls       AWS API calls per Alarm operation, counted under moto
    python -m bench.asset_sizes     function code assets and layers against Lambda's size limits

Benchmarks are measurements, not tests: they live here, not in tests/, and are not timed by pytest.
"""
